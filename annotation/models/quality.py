"""Data-quality records: cached LLM cleanings, per-project quality settings, agreement reports."""

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


class AgreementReport(models.Model):
    """A cached agreement report for one project and filter, with what it was computed from.

    `judgment_count` and `last_judgment_id` fingerprint the judgments it saw; the report
    is recomputed only when they change (or an annotator's standing changes, which
    deletes the project's reports).
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=300, help_text="The filter: split, batch, guideline.")
    report = models.JSONField()
    judgment_count = models.PositiveIntegerField()
    last_judgment_id = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField(auto_now=True)
    seconds = models.FloatField(default=0.0, help_text="How long the computation took.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="agreement_report_once")
        ]

    def __str__(self) -> str:
        return f"agreement of {self.project_id} [{self.key}]"
