"""The nouns of the human side (docs/architecture.md#data-model)."""

from annotation.models.audit import AuditAction, AuditEvent, record_event
from annotation.models.content import (
    AnnotatorPrompt,
    Batch,
    Image,
    Project,
    Prompt,
    ServingOrder,
    Split,
    Style,
    TaskType,
)
from annotation.models.exports import ExportSnapshot
from annotation.models.flags import ImageFlag, ImageFlagKind
from annotation.models.imports import ImportJob
from annotation.models.invitations import Invitation
from annotation.models.judging import (
    Assignment,
    AssignmentStatus,
    Judgment,
    JudgmentFlag,
    PairJudgment,
    ProjectAnnotator,
    Task,
    TaskImage,
)
from annotation.models.membership import (
    Capability,
    Membership,
    ProjectRole,
    capabilities,
    visible_projects,
)
from annotation.models.quality import LlmCleaning, QualitySettings, StoredReport
from annotation.models.users import Role, User

__all__ = [
    "AnnotatorPrompt",
    "Assignment",
    "AssignmentStatus",
    "AuditAction",
    "AuditEvent",
    "Batch",
    "Capability",
    "ExportSnapshot",
    "Image",
    "ImageFlag",
    "ImageFlagKind",
    "ImportJob",
    "Invitation",
    "Judgment",
    "JudgmentFlag",
    "LlmCleaning",
    "Membership",
    "PairJudgment",
    "Project",
    "ProjectAnnotator",
    "ProjectRole",
    "Prompt",
    "QualitySettings",
    "Role",
    "ServingOrder",
    "Split",
    "StoredReport",
    "Style",
    "Task",
    "TaskImage",
    "TaskType",
    "User",
    "capabilities",
    "record_event",
    "visible_projects",
]
