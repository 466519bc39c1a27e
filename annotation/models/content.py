"""What gets judged: projects, uploaded batches, prompts and their images."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class TaskType(models.TextChoices):
    PAIRWISE = "pairwise", "Pairwise"
    RANKING = "ranking", "Ranking"


class Split(models.TextChoices):
    TRAIN = "train", "Train"
    TEST = "test", "Test"


class Style(models.TextChoices):
    """The five prompt styles of HPD v2, plus 'not yet classified'."""

    UNCLASSIFIED = "", "Not classified"
    PAINTINGS = "paintings", "Paintings"
    ANIME = "anime and cartoon", "Anime and cartoon"
    PHOTO = "real photo", "Real photo"
    CONCEPT_ART = "concept-art", "Concept-art"
    OTHERS = "others", "Others"


class ProjectQuerySet(models.QuerySet["Project"]):
    def locked(self) -> "ProjectQuerySet":
        """The rows locked FOR NO KEY UPDATE until commit: the lock a long transaction
        that works on a project (an import, making gold pairs, scheduling repeats)
        takes to run one at a time per project.

        Not FOR UPDATE: every submit inserts rows whose foreign key names the project,
        and such an insert takes FOR KEY SHARE on the project row, which FOR UPDATE
        blocks until commit and FOR NO KEY UPDATE does not. Annotators keep working
        while the transaction runs.
        """
        return self.select_for_update(no_key=True)


class AnnotatorPrompt(models.TextChoices):
    """Which text of a prompt annotators see beside its images."""

    RAW = "raw", "Raw prompt (the text the images were generated from)"
    CLEANED = "cleaned", "Cleaned text (style and quality words removed)"


class ServingOrder(models.TextChoices):
    """The order in which a project's open tasks are served (annotation/judging/serving.py)."""

    FIFO = "fifo", "Upload order"
    RANDOM = "random", "Random order"
    UNCERTAIN_FIRST = "uncertain-first", "What the active scorer is least sure about first"


class Project(models.Model):
    """One annotation study: what kind of task, how many images, how many judgments."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    task_type = models.CharField(max_length=16, choices=TaskType.choices)
    images_per_task = models.PositiveSmallIntegerField(
        help_text="Largest number of images in one task (2 for pairwise)."
    )
    judgments_per_task = models.PositiveSmallIntegerField(
        default=1, help_text="Judgments wanted per task unless a batch says otherwise."
    )
    max_judgments_per_task = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Adaptive redundancy: a task goes on collecting past judgments_per_task, up "
        "to this many, while its judgments are not confidently agreed "
        "(annotation/judging/stopping.py). Empty: the same as judgments_per_task (fixed).",
    )
    consensus_threshold = models.FloatField(
        default=0.9,
        help_text="Adaptive redundancy: the consensus confidence at which a task stops "
        "collecting (between 0.5 and 1; 0.875 is a 2-0 pair, 0.9375 a 3-0 pair).",
    )
    guideline_version = models.CharField(max_length=32)
    gold_rate = models.FloatField(default=0.0, help_text="Share of served tasks that are gold.")
    lease_seconds = models.PositiveIntegerField(default=600)
    calibration_tasks = models.PositiveSmallIntegerField(
        default=5,
        help_text="Gold tasks a new annotator judges, with feedback, before their judgments "
        "count (0 disables calibration; skipped when the project has no gold tasks).",
    )
    calibration_pass_rate = models.FloatField(
        default=0.8, help_text="Share of calibration judgments that must match the gold order."
    )
    flag_withdraw_threshold = models.PositiveSmallIntegerField(
        default=2,
        help_text="Annotators who must flag an image broken or unsafe before it is withdrawn.",
    )
    open_to_annotators = models.BooleanField(
        default=False,
        help_text="Any signed-in annotator may judge this project's tasks; closed projects "
        "are seen only by their members (and admins).",
    )
    annotator_prompt = models.CharField(
        max_length=8,
        choices=AnnotatorPrompt.choices,
        default=AnnotatorPrompt.RAW,
        help_text="Which text annotators see: the raw prompt the images were generated from "
        "(the default: it is what each image answers), or the cleaned text (the raw text "
        "where a prompt has none).",
    )
    serving_order = models.CharField(
        max_length=16,
        choices=ServingOrder.choices,
        default=ServingOrder.FIFO,
        help_text="Which open task is served next, among tasks as far along as each other "
        "(started tasks always come first): upload order, a fixed random order, or the "
        "smallest score margin of the active scorer first, unscored tasks after the scored "
        "ones in upload order (annotation/judging/serving.py). Gold tasks and the "
        "calibration round keep upload order.",
    )
    allow_ties = models.BooleanField(
        default=False,
        help_text="Annotators may answer that images are about the same (a pairwise tie, or "
        "images on one level of a ranking). Off by default, as in HPD v2.",
    )
    reason_chips = ArrayField(
        models.CharField(max_length=40),
        default=list,
        blank=True,
        help_text="Quick reasons an annotator may tick beside a judgment (for example "
        "'text mismatch', 'artifacts'); empty: none offered. A free-text note is always "
        "possible.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def judgments_maximum(self) -> int:
        """The most judgments a task of a new batch collects (max_judgments_per_task,
        or judgments_per_task when it is not set)."""
        return max(self.max_judgments_per_task or 0, self.judgments_per_task)


class Batch(models.Model):
    """One upload, imported whole or not at all (a rejected upload leaves no row).

    `imported`: rows and files stored, post-import processing pending; `ready`: processed.
    `errors` keeps what post-import processing could not do.
    """

    class Status(models.TextChoices):
        IMPORTED = "imported", "Imported, processing pending"
        READY = "ready", "Ready"

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="batches")
    status = models.CharField(max_length=16, choices=Status.choices)
    split = models.CharField(max_length=8, choices=Split.choices, default=Split.TRAIN)
    judgments_per_task = models.PositiveSmallIntegerField(
        help_text="The judgments each task of the batch collects at least."
    )
    max_judgments_per_task = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="The most judgments each task collects (adaptive redundancy); empty: "
        "judgments_per_task, fixed.",
    )
    source_name = models.CharField(max_length=500, help_text="The uploaded file or folder name.")
    source_sha256 = models.CharField(max_length=64, blank=True, default="")
    prompt_count = models.PositiveIntegerField(default=0)
    image_count = models.PositiveIntegerField(default=0)
    task_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"{self.project.slug} batch {self.pk} ({self.status})"

    @property
    def judgments_maximum(self) -> int:
        return max(self.max_judgments_per_task or 0, self.judgments_per_task)


class Prompt(models.Model):
    """A prompt as uploaded, and as cleaned of style words.

    The raw text is what the images were generated from, and what annotators see unless
    their project's `annotator_prompt` says cleaned. The cleaned text goes into the
    training files (train.json, test.json) and into the exports beside the raw one.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="prompts")
    raw_text = models.TextField()
    cleaned_text = models.TextField(
        blank=True,
        default="",
        help_text="Style and quality words removed: for training files, and for annotators "
        "only where the project shows cleaned text.",
    )
    removed_spans = models.JSONField(default=list, blank=True)
    style = models.CharField(max_length=24, choices=Style.choices, blank=True, default="")
    source = models.CharField(max_length=64, blank=True, default="")
    is_unsafe = models.BooleanField(default=False)
    is_held = models.BooleanField(
        default=False,
        help_text="Held back from annotators until an admin approves it (safety review).",
    )
    line_number = models.PositiveIntegerField(help_text="Line of the manifest it came from.")

    class Meta:
        indexes = [models.Index(fields=["project", "style"])]

    def __str__(self) -> str:
        return self.raw_text[:80]


class Image(models.Model):
    """One generated (or real) image, stored once under MEDIA_ROOT by its sha256."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="images")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="images")
    sha256 = models.CharField(max_length=64)
    file = models.CharField(max_length=200, help_text="Path under MEDIA_ROOT.")
    original_name = models.CharField(max_length=500)
    format = models.CharField(max_length=8)
    width = models.PositiveIntegerField(help_text="As displayed, after EXIF orientation.")
    height = models.PositiveIntegerField(help_text="As displayed, after EXIF orientation.")
    exif_orientation = models.PositiveSmallIntegerField(default=1)
    byte_size = models.PositiveIntegerField()
    generator = models.CharField(max_length=64, blank=True, default="")
    is_withdrawn = models.BooleanField(
        default=False, help_text="Pulled from circulation (flagged broken or unsafe)."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "sha256"], name="image_unique_per_project")
        ]
        indexes = [models.Index(fields=["sha256"]), models.Index(fields=["project", "generator"])]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"

    @property
    def url(self) -> str:
        return f"{settings.MEDIA_URL}{self.file}"
