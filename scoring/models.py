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
    # What the forward pass ran in (scoring/core/scorer.py effective_precision) and whether
    # the resize antialiased; "" and None on scores stored before they were recorded.
    precision = models.CharField(max_length=8, blank=True, default="")
    antialias = models.BooleanField(null=True, blank=True)
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


class BenchmarkResult(models.Model):
    """The HPS v2 benchmark figures of one generator's images under one model version.

    Stored once per reuse key (generator, model version, images' checksum, precision,
    antialias): a second run on the same images with the same settings reads this row
    instead of scoring again. `figures` holds the benchmark JSON's "styles" and "average"
    (scoring/benchmark_cli.py), on 100 x the raw cosine with 95% bootstrap intervals.
    """

    generator = models.CharField(max_length=200)
    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="benchmark_results"
    )
    images_checksum = models.CharField(max_length=64)
    precision = models.CharField(max_length=8)
    antialias = models.BooleanField()
    figures = models.JSONField()
    skipped = models.JSONField(default=list, blank=True)
    bootstrap = models.PositiveIntegerField()
    seed = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["generator", "model_version__name", "-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["generator", "model_version", "images_checksum", "precision", "antialias"],
                name="benchmark_result_unique_per_key",
            )
        ]

    def __str__(self) -> str:
        return f"benchmark of {self.generator} by {self.model_version_id} ({self.precision})"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    FAILED = "failed", "failed"


class BenchmarkJob(models.Model):
    """A benchmark asked for through the API, run on the `gpu` queue. `parameters` are
    the request's (folders under BENCHMARK_ROOT, generator, precision, ...); `result` is
    the stored (or reused) BenchmarkResult once done, `error` says why when it failed."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="benchmark_jobs"
    )
    parameters = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    result = models.ForeignKey(
        BenchmarkResult, null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    reused = models.BooleanField(default=False, help_text="The result was stored already.")
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"benchmark job {self.pk} ({self.status})"


class ScoreJob(models.Model):
    """A POST /api/v1/score/ request, scored on the `gpu` queue so the web process never
    loads a model. Uploaded files wait in ScoreUpload rows; `result` is the response body
    ({"model_version", "scores"}) once done, `error` the reason when it failed."""

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.CASCADE, related_name="score_jobs"
    )
    prompt = models.TextField(blank=True, default="")
    image_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"score job {self.pk} ({self.status})"


class ScoreUpload(models.Model):
    """One image file sent with a score request, in the order it was sent."""

    job = models.ForeignKey(ScoreJob, on_delete=models.CASCADE, related_name="uploads")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=255)
    content = models.BinaryField()

    class Meta:
        ordering = ["job", "position"]
        constraints = [
            models.UniqueConstraint(fields=["job", "position"], name="score_upload_position")
        ]

    def __str__(self) -> str:
        return f"{self.name} of score job {self.job_id}"
