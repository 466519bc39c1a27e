"""An invitation: an account made for someone on a crowd's list, waiting for them to set
their password through a single-use link that expires (annotation/projects/invitations.py).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from annotation.models.content import Project
from annotation.models.membership import ProjectRole


class Invitation(models.Model):
    """The account exists, with no usable password, and is a member of `project` in
    `role` from the start; the link (a signature of `key`, never stored) sets its password
    once. `accepted_at` set means the link has been used."""

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="invitation"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=16, choices=ProjectRole.choices)
    email = models.EmailField(max_length=254)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["project", "accepted_at"], name="invitation_pending")]
        ordering = ["project", "user"]

    def __str__(self) -> str:
        return f"invitation of {self.user_id} to {self.project_id}"
