"""Dataset snapshots: one export, its parameters, where its files are and their checksum."""

from django.conf import settings
from django.db import models

from annotation.models.content import Project


class ExportSnapshot(models.Model):
    """An immutable, checksummed export of a project's judgments (HPD v2 layout and more).

    `parameters` are the export filters as canonical JSON; `checksum` is the sha256 of
    the snapshot's manifest.json, which lists every file with its size and sha256.
    Re-exporting the same parameters on unchanged data gives the same checksum.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="exports")
    parameters = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0, help_text="Share done, 0..1.")
    counts = models.JSONField(default=dict, blank=True)
    checksum = models.CharField(max_length=64, blank=True, default="")
    path = models.CharField(max_length=1000, help_text="Folder holding the snapshot's files.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    data_version = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_index=True,
        help_text="sha256 of the parameters and the judgments they read (annotation/export/"
        "reuse.py): an identical request on unchanged data reuses this snapshot.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"export {self.pk} of project {self.project_id} ({self.status})"
