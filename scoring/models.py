"""The scorer registry and the scores it produced."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelVersion(models.Model):
    """One registered HPS model: architecture, checkpoint (path + sha256), provenance and
    metrics. At most one version is active at a time, platform-wide (the HPS score is not
    tied to a project); a database constraint enforces it."""

    class Status(models.TextChoices):
        CANDIDATE = "candidate", "candidate"
        ACTIVE = "active", "active"
        RETIRED = "retired", "retired"

    name = models.CharField(max_length=100, unique=True)
    architecture = models.CharField(
        max_length=100, help_text="open_clip architecture name, e.g. ViT-H-14."
    )
    model_config = models.JSONField(
        null=True, blank=True, help_text="The architecture's config when not a built-in name."
    )
    checkpoint_path = models.CharField(max_length=1000)
    checkpoint_sha256 = models.CharField(max_length=64)
    source = models.TextField(
        blank=True, default="", help_text="Where it came from: a release, a training run."
    )
    metrics = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["status"],
                condition=Q(status="active"),
                name="one_active_model_version",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class ImageScore(models.Model):
    """The raw cosine HPS score of one image under one model version."""

    image = models.ForeignKey("annotation.Image", on_delete=models.CASCADE, related_name="scores")
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="image_scores"
    )
    score = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["image", "model_version"], name="image_score_unique_per_version"
            )
        ]
        indexes = [models.Index(fields=["model_version", "image"])]

    def __str__(self) -> str:
        return f"{self.image_id} @ {self.model_version_id}: {self.score:.4f}"
