"""Data-quality records: cached LLM cleanings, per-project quality settings, stored reports."""

from django.db import models

from annotation.models.content import Project


class LlmCleaning(models.Model):
    """One prompt text as an OpenAI-compatible model cleaned and classified it (a cache).

    Keyed by the sha256 of the raw text and the model name, so the same prompt in many
    batches costs one call, and changing the model asks again.
    """

    text_sha256 = models.CharField(max_length=64)
    model = models.CharField(max_length=200)
    cleaned_text = models.TextField()
    style = models.CharField(max_length=24)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["text_sha256", "model"], name="llm_cleaning_once")
        ]

    def __str__(self) -> str:
        return f"{self.model}: {self.cleaned_text[:60]}"


class QualitySettings(models.Model):
    """The thresholds under which an annotator is flagged, and how often items repeat."""

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, related_name="quality_settings"
    )
    min_agreement = models.FloatField(
        default=0.6, help_text="Lowest agreement with the leave-one-out consensus (0-1)."
    )
    min_gold_accuracy = models.FloatField(default=0.8, help_text="Lowest gold accuracy (0-1).")
    max_position_bias = models.FloatField(
        default=0.2,
        help_text="Largest distance of the first-shown-image win share from 0.5.",
    )
    min_self_consistency = models.FloatField(
        default=0.7, help_text="Lowest agreement with one's own earlier judgment (0-1)."
    )
    min_median_seconds = models.FloatField(
        default=1.5, help_text="Median seconds per task below this is flagged as too fast."
    )
    min_judgments = models.PositiveIntegerField(
        default=20, help_text="Annotators with fewer judgments are not flagged yet."
    )
    repeat_rate = models.FloatField(
        default=0.05, help_text="Share of an annotator's judged tasks shown to them again."
    )
    repeat_after_hours = models.FloatField(
        default=1.0, help_text="A task is repeated only this long after it was judged."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "quality settings"

    def __str__(self) -> str:
        return f"quality settings of {self.project_id}"


class StoredReport(models.Model):
    """The last computed report of one kind for a project: its leaderboard, its agreement
    report, or the agreement report of the last filter asked for.

    One row per (project, kind), replaced when the report is computed again, so the rows
    are bounded by the projects, whatever filters are asked for. `data_version`
    fingerprints what the report was computed from (annotation/quality/stored.py); pages
    serve the row as of `computed_at` and queue a refresh when the data moved on.
    """

    class Kind(models.TextChoices):
        LEADERBOARD = "leaderboard", "Generator leaderboard"
        AGREEMENT = "agreement", "Agreement report"
        AGREEMENT_FILTERED = "agreement-filtered", "Agreement report, last filter asked for"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    data_version = models.CharField(
        max_length=400, help_text="What the report was computed from (and its filter)."
    )
    report = models.JSONField()
    computed_at = models.DateTimeField()
    seconds = models.FloatField(default=0.0, help_text="How long the computation took.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "kind"], name="stored_report_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.project_id} as of {self.computed_at:%Y-%m-%d %H:%M}"
