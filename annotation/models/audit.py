"""The audit trail: who did what, when, to what, with the values before and after.

Append-only: rows are only ever inserted; a database trigger (migration
0007_audit_event) refuses UPDATE and DELETE. Actor and project are kept by id and name,
without foreign keys, so deleting an account or a project never has to touch the trail.
A small model of our own rather than a model-diff library: the events are decisions
made through services and pages (an export started, a version promoted), most of which
change no single row a library could diff.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from annotation.models.content import Project
from annotation.models.users import User


class AuditAction(models.TextChoices):
    MEMBER_ADDED = "member_added", "Member added"
    MEMBER_ROLE_CHANGED = "member_role_changed", "Member's role changed"
    MEMBER_REMOVED = "member_removed", "Member removed"
    MEMBER_INVITED = "member_invited", "Member invited"
    INVITATION_ACCEPTED = "invitation_accepted", "Invitation accepted"
    PROJECT_OPENED = "project_opened", "Project opened to all annotators"
    PROJECT_CLOSED = "project_closed", "Project closed to members"
    ANNOTATOR_EXCLUDED = "annotator_excluded", "Annotator excluded"
    ANNOTATOR_INCLUDED = "annotator_included", "Annotator included again"
    PROMPTS_APPROVED = "prompts_approved", "Prompts approved"
    PROMPTS_HELD = "prompts_held", "Prompts held"
    IMAGE_RESTORED = "image_restored", "Image restored"
    THRESHOLDS_CHANGED = "thresholds_changed", "Quality thresholds changed"
    EXPORT_STARTED = "export_started", "Export started"
    EXPORT_DOWNLOADED = "export_downloaded", "Export downloaded"
    MODEL_REGISTERED = "model_registered", "Model version registered"
    MODEL_STATUS_CHANGED = "model_status_changed", "Model version activated or retired"
    MODEL_PROMOTED = "model_promoted", "Model version promoted"
    MODEL_ROLLED_BACK = "model_rolled_back", "Active model rolled back"
    POLICY_CHANGED = "policy_changed", "Training policy changed"
    JUDGING_OPTIONS_CHANGED = "judging_options_changed", "Ties or reason chips changed"
    JUDGMENT_RETRACTED = "judgment_retracted", "Judgment undone by its annotator"
    JUDGMENT_REPLACED = "judgment_replaced", "Undone judgment replaced"


class AuditEvent(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True, default="")
    project_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    project_slug = models.CharField(max_length=64, blank=True, default="")
    action = models.CharField(max_length=32, choices=AuditAction.choices)
    target = models.CharField(
        max_length=300, blank=True, default="", help_text="What it was done to."
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action} {self.target}"


def record_event(
    action: str,
    *,
    actor: Any = None,
    project: Project | None = None,
    target: str = "",
    before: Any = None,
    after: Any = None,
) -> AuditEvent:
    """Append one event. `actor` is the user who acted (None or anonymous: the system,
    a command). Call it in the transaction of the change where there is one."""
    user = actor if isinstance(actor, User) else None
    return AuditEvent.objects.create(
        action=action,
        actor_id=user.pk if user else None,
        actor_name=user.username if user else "",
        project_id=project.pk if project else None,
        project_slug=project.slug if project else "",
        target=target[:300],
        before=before,
        after=after,
    )
