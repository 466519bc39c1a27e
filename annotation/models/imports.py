"""Import jobs: an uploaded archive waiting for, or going through, its import on a worker."""

from django.conf import settings
from django.db import models

from annotation.models.content import Batch


class ImportJob(models.Model):
    """One uploaded archive and its import, run by a Celery worker (annotation/intake/
    import_jobs.py). The archive is kept at `source_path` until the job ends; the
    counters say how far the import got; `problems` lists everything wrong with a
    rejected archive, `summary` what a successful one imported."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    project_slug = models.CharField(max_length=64, help_text="Created by the import when new.")
    split = models.CharField(max_length=8)
    judgments_per_task = models.PositiveSmallIntegerField(null=True, blank=True)
    max_judgments_per_task = models.PositiveSmallIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    source_name = models.CharField(max_length=500, help_text="The uploaded file's name.")
    source_path = models.CharField(max_length=1000, help_text="The stored upload.")
    byte_size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    stage = models.CharField(max_length=32, blank=True, default="")
    files_total = models.PositiveIntegerField(default=0)
    files_checked = models.PositiveIntegerField(default=0)
    images_total = models.PositiveIntegerField(default=0)
    images_stored = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    batch = models.ForeignKey(
        Batch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.pk} into {self.project_slug} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED)
