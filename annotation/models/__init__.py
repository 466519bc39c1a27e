"""The nouns of the human side (DESIGN.md, "Data model")."""

from annotation.models.content import Batch, Image, Project, Prompt, Split, Style, TaskType
from annotation.models.exports import ExportSnapshot
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
from annotation.models.users import Role, User

__all__ = [
    "Assignment",
    "AssignmentStatus",
    "Batch",
    "ExportSnapshot",
    "Image",
    "Judgment",
    "JudgmentFlag",
    "PairJudgment",
    "Project",
    "ProjectAnnotator",
    "Prompt",
    "Role",
    "Split",
    "Style",
    "Task",
    "TaskImage",
    "TaskType",
    "User",
]
