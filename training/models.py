"""Fine-tuning cycles of the HPS scorer: each run, and each project's training policy."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from annotation.models import ExportSnapshot, Project
from scoring.models import ModelVersion
from training.core import recipe_default, recipe_field


def _help(name: str) -> str:
    """A recipe field's declared help as a form's help text (a sentence)."""
    text = recipe_field(name).help
    return f"{text[:1].upper()}{text[1:]}."


class TrainingPolicy(models.Model):
    """When a project's scorer is fine-tuned, and the recipe's knobs.

    One per project, created with these defaults the first time it is asked for
    (training.services.policy.policy_for). The knobs are the recipe fields declared as
    policy knobs in training/core/config.py, with its defaults (the HPS v2 recipe) and
    help; the cycle is off until an admin enables it.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="training")
    enabled = models.BooleanField(
        default=False, help_text="The periodic task starts cycles for this project."
    )
    min_new_judgments = models.PositiveIntegerField(
        default=1000, help_text="Start a cycle once this many judgments arrived since the last."
    )
    promote_margin = models.FloatField(
        default=0.0,
        help_text="Promote the candidate when its test accuracy is at least the active "
        "model's plus this (0.01 = one point).",
    )
    # The recipe's knobs: defaults and help as training/core/config.py declares them.
    steps = models.PositiveIntegerField(default=recipe_default("steps"), help_text=_help("steps"))
    batch_size = models.PositiveIntegerField(
        default=recipe_default("batch_size"), help_text=_help("batch_size")
    )
    global_batch = models.PositiveIntegerField(
        default=recipe_default("global_batch"), help_text=_help("global_batch")
    )
    lr = models.FloatField(default=recipe_default("lr"), help_text=_help("lr"))
    weight_decay = models.FloatField(
        default=recipe_default("weight_decay"), help_text=_help("weight_decay")
    )
    warmup_steps = models.PositiveIntegerField(
        default=recipe_default("warmup_steps"), help_text=_help("warmup_steps")
    )
    unlocked_image_groups = models.PositiveIntegerField(
        default=recipe_default("unlocked_image_groups"), help_text=_help("unlocked_image_groups")
    )
    unlocked_text_layers = models.PositiveIntegerField(
        default=recipe_default("unlocked_text_layers"), help_text=_help("unlocked_text_layers")
    )
    precision = models.CharField(
        max_length=8,
        default=recipe_default("precision"),
        choices=[(name, name) for name in recipe_field("precision").spec.choices],
        help_text=_help("precision"),
    )
    hold_out_generators = models.CharField(
        max_length=512,
        blank=True,
        default=recipe_default("hold_out_generators"),
        help_text=_help("hold_out_generators"),
    )
    eval_every = models.PositiveIntegerField(
        default=recipe_default("eval_every"), help_text=_help("eval_every")
    )
    checkpoint_every = models.PositiveIntegerField(
        default=recipe_default("checkpoint_every"), help_text=_help("checkpoint_every")
    )
    workers = models.PositiveIntegerField(
        default=recipe_default("workers"), help_text=_help("workers")
    )
    seed = models.PositiveIntegerField(default=recipe_default("seed"), help_text=_help("seed"))
    evaluation_snapshot = models.ForeignKey(
        ExportSnapshot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The frozen evaluation set: every model version is measured on this "
        "snapshot's test.json (none: each run on its own snapshot's test split).",
    )
    evaluation_ceiling = models.FloatField(
        null=True, blank=True, help_text="The human ceiling of the frozen evaluation set."
    )
    evaluation_frozen_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "training policies"

    def __str__(self) -> str:
        return f"training policy of project {self.project_id}"


class TrainingRun(models.Model):
    """One fine-tuning cycle of a project: export -> train -> evaluate -> register -> decide.

    At most one live run (queued, exporting, training or evaluating) per project: a
    database constraint. The run's worker holds a lease (`lease_holder` until
    `lease_expires_at`, renewed by a heartbeat); a redelivered task takes over only an
    expired lease. Every step records what it produced here, so a resumed run reuses it.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        EXPORTING = "exporting", "exporting"
        TRAINING = "training", "training"
        EVALUATING = "evaluating", "evaluating"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"

    LIVE = (Status.QUEUED, Status.EXPORTING, Status.TRAINING, Status.EVALUATING)

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "schedule"
        PAGE = "page", "page"
        COMMAND = "command", "command"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="training_runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.SCHEDULE)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    celery_task_id = models.CharField(max_length=64, blank=True, default="")
    lease_holder = models.CharField(
        max_length=200, blank=True, default="", help_text="host:pid of the process running it."
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    judgment_watermark = models.BigIntegerField(
        default=0, help_text="Highest judgment id of the project when the run was started."
    )
    judgment_count = models.PositiveIntegerField(default=0)
    new_judgments = models.PositiveIntegerField(
        default=0, help_text="Judgments that arrived since the previous successful run."
    )
    snapshot = models.ForeignKey(
        ExportSnapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    evaluation_snapshot = models.ForeignKey(
        ExportSnapshot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The frozen evaluation set the accuracies were measured on (none: the "
        "test split of the run's own snapshot).",
    )
    starting_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The version fine-tuned from; empty when it started from the base weights.",
    )
    active_version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The active version the candidate was compared with.",
    )
    candidate = models.OneToOneField(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="training_run",
    )
    config = models.JSONField(default=dict, blank=True, help_text="The training configuration.")
    out_dir = models.CharField(max_length=1000, blank=True, default="")
    resumed_from_step = models.PositiveIntegerField(
        null=True, blank=True, help_text="Checkpoint step training resumed from after a restart."
    )
    final_step = models.PositiveIntegerField(null=True, blank=True)
    final_loss = models.FloatField(null=True, blank=True)
    candidate_accuracy = models.FloatField(null=True, blank=True)
    active_accuracy = models.FloatField(null=True, blank=True)
    base_accuracy = models.FloatField(null=True, blank=True)
    human_ceiling = models.FloatField(null=True, blank=True)
    promoted = models.BooleanField(default=False)
    promotion_reason = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    progress = models.FloatField(default=0.0, help_text="Share of the current step done, 0..1.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(status__in=["queued", "exporting", "training", "evaluating"]),
                name="one_live_training_run_per_project",
            )
        ]

    def __str__(self) -> str:
        return f"training run {self.pk} of project {self.project_id} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class FrozenEvaluation(models.Model):
    """One model version's (or the base weights') HPD v2 ranking accuracy on a project's
    frozen evaluation set; measured once per version and set."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="frozen_evaluations"
    )
    snapshot = models.ForeignKey(ExportSnapshot, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(
        ModelVersion,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="frozen_evaluations",
        help_text="None: the base weights (TRAINING_BASE_*).",
    )
    accuracy = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "version"], name="one_frozen_evaluation_per_version"
            ),
            models.UniqueConstraint(
                fields=["snapshot"],
                condition=Q(version__isnull=True),
                name="one_frozen_evaluation_of_the_base_weights",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.version or 'base weights'} on snapshot {self.snapshot_id}: {self.accuracy}"
