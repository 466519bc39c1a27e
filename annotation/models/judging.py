"""The work: tasks to rank, leases to annotators, submitted judgments and their pairs."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F
from django.db.models.functions import Random

from annotation.models.content import Batch, Image, Project, Prompt

# The rows the next-task query looks at: active tasks still wanting a judgment.
OPEN_TASK = models.Q(judgments_done__lt=F("judgments_wanted")) & models.Q(is_active=True)


class Task(models.Model):
    """One prompt with 2..N of its images to rank, wanted `judgments_wanted` times."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="tasks")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="tasks")
    images = models.ManyToManyField(Image, through="TaskImage", related_name="tasks")
    judgments_wanted = models.PositiveSmallIntegerField()
    judgments_done = models.PositiveSmallIntegerField(default=0)
    is_gold = models.BooleanField(default=False)
    gold_ranking = ArrayField(
        models.BigIntegerField(), null=True, blank=True, help_text="Image ids, best to worst."
    )
    is_active = models.BooleanField(
        default=True,
        help_text="False while the task is out of circulation: its prompt is held for a "
        "safety review or one of its images was withdrawn.",
    )
    repeat_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="repeats",
        help_text="For a repeat item: the task shown again to measure self-consistency.",
    )
    repeat_for = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="For a repeat item: the only annotator it may be served to.",
    )
    released_rank = models.JSONField(
        null=True,
        blank=True,
        help_text="For a group imported from an HPD v2 test.json: its 'rank' list as "
        "released, in image position order; exports write it unchanged.",
    )
    model_margin = models.FloatField(
        null=True,
        blank=True,
        help_text="How sure the active scorer is of the task's order: the smallest gap "
        "between two of its images' scores; empty while an image has no score from it "
        "(annotation/judging/serving.py, refreshed whenever scores are stored).",
    )
    serving_key = models.FloatField(
        db_default=Random(),
        help_text="The task's place in a project's random serving order (drawn once).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The next-task query (annotation/judging/assignment.py): open, active tasks of a
            # project, gold or not, started ones first.
            models.Index(
                fields=["project", "is_gold", "-judgments_done", "id"],
                condition=OPEN_TASK,
                name="task_open_idx",
            ),
            # The same query for the other serving orders (annotation/judging/serving.py).
            models.Index(
                F("project"),
                F("is_gold"),
                F("judgments_done").desc(),
                F("model_margin").asc(nulls_last=True),
                F("id"),
                condition=OPEN_TASK,
                name="task_open_uncertain_idx",
            ),
            models.Index(
                F("project"),
                F("is_gold"),
                F("judgments_done").desc(),
                F("serving_key"),
                F("id"),
                condition=OPEN_TASK,
                name="task_open_random_idx",
            ),
            # "Does the project have gold tasks?" (calibration), asked on every next task.
            models.Index(
                fields=["project"], condition=models.Q(is_gold=True), name="task_gold_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"task {self.pk} of {self.project.slug}"


class TaskImage(models.Model):
    """The images of a task, in the order they were uploaded."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="task_images")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["task", "position"], name="task_image_position"),
            models.UniqueConstraint(fields=["task", "image"], name="task_image_once"),
        ]

    def __str__(self) -> str:
        return f"task {self.task_id} image {self.image_id} at {self.position}"


class AssignmentStatus(models.TextChoices):
    LEASED = "leased", "Leased"
    SUBMITTED = "submitted", "Submitted"
    SKIPPED = "skipped", "Skipped"
    EXPIRED = "expired", "Expired"


class Assignment(models.Model):
    """A task leased to one annotator until `expires_at`, with the order they were shown."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="assignments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    display_order = ArrayField(models.BigIntegerField(), help_text="Image ids, left to right.")
    status = models.CharField(
        max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.LEASED
    )
    leased_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    is_calibration = models.BooleanField(
        default=False, help_text="Served in the annotator's calibration round (a gold task)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "annotator"], name="assignment_once_per_task")
        ]
        indexes = [
            models.Index(
                fields=["annotator", "expires_at"],
                condition=models.Q(status="leased"),
                name="assignment_live_idx",
            ),
            models.Index(
                fields=["task", "expires_at"],
                condition=models.Q(status="leased"),
                name="assignment_task_live_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"assignment {self.pk}: task {self.task_id} to user {self.annotator_id}"


class JudgmentFlag(models.TextChoices):
    BROKEN_IMAGE = "broken_image", "Broken image"
    UNSAFE = "unsafe", "Unsafe content"
    CANNOT_DECIDE = "cannot_decide", "Cannot decide"


class Judgment(models.Model):
    """A submitted ranking, best to worst. Imported judgments have no assignment.

    A judgment its annotator took back (undo: annotation/judging/undo.py) keeps its row,
    marked `retracted_at`; it no longer counts anywhere and its pair rows are gone. Its
    assignment may then carry one more, live judgment: the replacement.
    """

    assignment = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.PROTECT, related_name="judgments"
    )
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="judgments")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="judgments"
    )
    ranking = ArrayField(models.BigIntegerField(), help_text="Image ids, best to worst.")
    levels = ArrayField(
        models.PositiveSmallIntegerField(),
        default=list,
        blank=True,
        help_text="Ties: the level of each image of `ranking` (0 best; images on one level "
        "are about the same). Empty: a strict order, every image on a level of its own.",
    )
    display_order = ArrayField(models.BigIntegerField(), default=list, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    flags = ArrayField(
        models.CharField(max_length=32, choices=JudgmentFlag.choices), default=list, blank=True
    )
    guideline_version = models.CharField(max_length=32)
    is_calibration = models.BooleanField(
        default=False,
        help_text="Made during the annotator's calibration round: kept, but not counted "
        "in agreement, exports or the task's judgments.",
    )
    reasons = ArrayField(
        models.CharField(max_length=40),
        default=list,
        blank=True,
        help_text="Reason chips ticked, from the project's `reason_chips`.",
    )
    note = models.CharField(max_length=500, blank=True, default="")
    idempotency_key = models.CharField(max_length=128, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    retracted_at = models.DateTimeField(
        null=True, blank=True, help_text="When its annotator took it back (undo)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["task", "annotator"],
                condition=models.Q(retracted_at__isnull=True),
                name="judgment_once_per_task",
            ),
            models.UniqueConstraint(
                fields=["assignment"],
                condition=models.Q(retracted_at__isnull=True),
                name="judgment_once_per_assignment",
            ),
            models.UniqueConstraint(
                fields=["annotator", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="judgment_idempotency_key",
            ),
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"judgment {self.pk} of task {self.task_id} by user {self.annotator_id}"


class PairJudgment(models.Model):
    """One (winner, loser) pair derived from a judgment: the unit of export and agreement.

    A tie (`is_tie`: the judgment put both on one level) names its images in ranking
    order; it is half a win for each.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    judgment = models.ForeignKey(Judgment, on_delete=models.CASCADE, related_name="pairs")
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    winner = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    loser = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+")
    is_tie = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["project", "task"])]
        constraints = [
            models.UniqueConstraint(
                fields=["judgment", "winner", "loser"], name="pair_once_per_judgment"
            )
        ]

    def __str__(self) -> str:
        return f"image {self.winner_id} > image {self.loser_id} (judgment {self.judgment_id})"


class ProjectAnnotator(models.Model):
    """One annotator's standing in one project: calibration, quality flags, exclusion.

    Excluding an annotator deletes nothing: their judgments stay and are left out of
    statistics and exports while `is_excluded` is set.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotators")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_standings"
    )
    calibrated_at = models.DateTimeField(
        null=True, blank=True, help_text="When the calibration round was passed."
    )
    quality_flags = models.JSONField(
        default=list, blank=True, help_text="Names of the quality thresholds now failed."
    )
    is_excluded = models.BooleanField(default=False)
    excluded_reason = models.CharField(max_length=500, blank=True, default="")
    excluded_at = models.DateTimeField(null=True, blank=True)
    excluded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "annotator"], name="project_annotator_once")
        ]

    def __str__(self) -> str:
        return f"user {self.annotator_id} in {self.project_id}"
