from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation.intake import describe_import_job
from annotation.models import Batch, ExportSnapshot, ImportJob, Project, Split, User


class ProjectSerializer(serializers.ModelSerializer):
    prompt_count = serializers.IntegerField(read_only=True)
    image_count = serializers.IntegerField(read_only=True)
    task_count = serializers.IntegerField(read_only=True)
    max_judgments_per_task = serializers.IntegerField(
        source="judgments_maximum",
        read_only=True,
        help_text="The most judgments a task of a new batch collects (adaptive redundancy); "
        "equal to judgments_per_task when fixed.",
    )

    class Meta:
        model = Project
        fields = [
            "slug",
            "name",
            "task_type",
            "images_per_task",
            "judgments_per_task",
            "max_judgments_per_task",
            "consensus_threshold",
            "guideline_version",
            "gold_rate",
            "lease_seconds",
            "annotator_prompt",
            "serving_order",
            "allow_ties",
            "reason_chips",
            "created_at",
            "prompt_count",
            "image_count",
            "task_count",
        ]


class BatchSerializer(serializers.ModelSerializer):
    project: serializers.SlugRelatedField[Project] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    uploaded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    max_judgments_per_task = serializers.IntegerField(source="judgments_maximum", read_only=True)

    class Meta:
        model = Batch
        fields = [
            "id",
            "project",
            "status",
            "split",
            "judgments_per_task",
            "max_judgments_per_task",
            "source_name",
            "prompt_count",
            "image_count",
            "task_count",
            "errors",
            "uploaded_by",
            "created_at",
        ]


class BatchUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A .zip holding manifest.jsonl and the images.")
    split = serializers.ChoiceField(choices=Split.choices, default=Split.TRAIN)
    judgments_per_task = serializers.IntegerField(
        min_value=1, max_value=100, required=False, allow_null=True
    )
    max_judgments_per_task = serializers.IntegerField(
        min_value=1,
        max_value=100,
        required=False,
        allow_null=True,
        help_text="The most judgments a task collects (adaptive redundancy; default: the "
        "project's).",
    )


class RedundancySerializer(serializers.Serializer):
    """A change to a project's adaptive redundancy, serving order and judging options;
    fields left out keep their value."""

    judgments_per_task = serializers.IntegerField(required=False)
    max_judgments_per_task = serializers.IntegerField(required=False)
    consensus_threshold = serializers.FloatField(required=False)
    serving_order = serializers.CharField(
        required=False,
        help_text="fifo, random or uncertain-first (annotation/judging/serving.py).",
    )
    allow_ties = serializers.BooleanField(
        required=False, help_text="Let annotators judge images about the same (ties)."
    )
    reason_chips = serializers.ListField(
        # Checked, with a message per problem, by annotation/judging/options.py.
        child=serializers.CharField(allow_blank=True, trim_whitespace=False),
        required=False,
        help_text="Quick reasons annotators may tick (8 at most, 1 to 40 characters each).",
    )


class ProblemSerializer(serializers.Serializer):
    where = serializers.CharField()
    message = serializers.CharField()


class BatchRejectedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    problems = ProblemSerializer(many=True)


class ImportSummarySerializer(serializers.Serializer):
    batch = serializers.IntegerField()
    project = serializers.CharField()
    created_project = serializers.BooleanField()
    task_type = serializers.CharField()
    split = serializers.CharField()
    judgments_per_task = serializers.IntegerField()
    max_judgments_per_task = serializers.IntegerField(required=False)
    prompts = serializers.IntegerField()
    images = serializers.IntegerField()
    tasks = serializers.IntegerField()
    seconds = serializers.FloatField()
    # Only for an HPD v2 release folder, which brings judgments and may hold both splits.
    batches = serializers.ListField(child=serializers.IntegerField(), required=False)
    judgments = serializers.IntegerField(required=False)
    annotators = serializers.IntegerField(required=False)


class ImportJobSerializer(serializers.ModelSerializer):
    """An upload being imported on a worker: follow it until its status is succeeded,
    failed or cancelled."""

    project = serializers.CharField(source="project_slug", read_only=True)
    uploaded_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    detail = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    problems = ProblemSerializer(many=True, read_only=True)
    summary = serializers.SerializerMethodField(
        help_text="What the import made, once it succeeded; null before."
    )

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "url",
            "page_url",
            "project",
            "status",
            "detail",
            "split",
            "judgments_per_task",
            "max_judgments_per_task",
            "source_name",
            "byte_size",
            "sha256",
            "stage",
            "files_total",
            "files_checked",
            "images_total",
            "images_stored",
            "rows_total",
            "rows_written",
            "problems",
            "summary",
            "batch",
            "cancel_requested",
            "attempts",
            "uploaded_by",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_detail(self, job: ImportJob) -> str:
        return describe_import_job(job)

    @extend_schema_field(ImportSummarySerializer(allow_null=True))
    def get_summary(self, job: ImportJob) -> dict[str, Any] | None:
        return job.summary or None

    def get_url(self, job: ImportJob) -> str:
        return reverse("import-job-detail", kwargs={"pk": job.pk})

    def get_page_url(self, job: ImportJob) -> str:
        return reverse("import-job", kwargs={"pk": job.pk})


class ExportRequestSerializer(serializers.Serializer):
    """The filters of an export. Calibration judgments, excluded annotators' judgments and
    repeat tasks are always left out."""

    split = serializers.ChoiceField(choices=["all", "train", "test"], default="all")
    batches = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list
    )
    created_from = serializers.DateField(required=False, allow_null=True, default=None)
    created_to = serializers.DateField(required=False, allow_null=True, default=None)
    exclude_flagged_annotators = serializers.BooleanField(required=False, default=False)
    exclude_gold = serializers.BooleanField(required=False, default=False)
    min_annotators = serializers.IntegerField(
        min_value=1, max_value=1000, required=False, default=1
    )


class ExportSnapshotSerializer(serializers.ModelSerializer):
    project: serializers.SlugRelatedField[Project] = serializers.SlugRelatedField(
        slug_field="slug", read_only=True
    )
    created_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True
    )
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportSnapshot
        fields = [
            "id",
            "project",
            "parameters",
            "status",
            "progress",
            "counts",
            "checksum",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "download_url",
        ]

    def get_download_url(self, snapshot: ExportSnapshot) -> str | None:
        if snapshot.status != ExportSnapshot.Status.DONE:
            return None
        return reverse("export-download", kwargs={"pk": snapshot.pk})


class GeneratorStrengthSerializer(serializers.Serializer):
    generator = serializers.CharField()
    strength = serializers.FloatField(help_text="Bradley-Terry log-strength (mean 0).")
    low = serializers.FloatField(
        allow_null=True,
        help_text="Bootstrap 2.5th percentile, prompts resampled; null with one prompt.",
    )
    high = serializers.FloatField(allow_null=True, help_text="Bootstrap 97.5th percentile.")
    comparisons = serializers.IntegerField(help_text="Judgments the generator took part in.")
    pairs = serializers.IntegerField(help_text="Pairs those judgments imply.")
    win_rate = serializers.FloatField(allow_null=True, help_text="Share of its pairs won.")
    mean_score = serializers.FloatField(
        allow_null=True, help_text="Mean HPS score of the active model; null without one."
    )
    mean_score_low = serializers.FloatField(allow_null=True)
    mean_score_high = serializers.FloatField(allow_null=True)


class StrengthTableSerializer(serializers.Serializer):
    comparisons = serializers.IntegerField(help_text="Judgments (one ranking is one).")
    pairs = serializers.IntegerField(help_text="Pairs they imply.")
    prompts = serializers.IntegerField(help_text="Prompts: the unit the bootstrap resamples.")
    generators = GeneratorStrengthSerializer(many=True)


class MeanScoreSerializer(serializers.Serializer):
    generator = serializers.CharField()
    mean = serializers.FloatField()
    low = serializers.FloatField(allow_null=True, help_text="Bootstrap 2.5th percentile.")
    high = serializers.FloatField(allow_null=True, help_text="Bootstrap 97.5th percentile.")
    images = serializers.IntegerField()
    prompts = serializers.IntegerField()


class MeanScoreIntervalsSerializer(serializers.Serializer):
    overall = MeanScoreSerializer(many=True)
    styles = serializers.DictField(child=MeanScoreSerializer(many=True))


class LeaderboardSerializer(serializers.Serializer):
    project = serializers.CharField()
    bootstrap_samples = serializers.IntegerField()
    overall = StrengthTableSerializer()
    styles = serializers.DictField(child=StrengthTableSerializer())
    mean_scores = serializers.DictField(
        child=serializers.FloatField(),
        allow_null=True,
        help_text="Generator -> mean HPS score of the active model; null without one.",
    )
    resampled = serializers.CharField(help_text="The unit the bootstrap draws: prompts.")
    mean_score_intervals = MeanScoreIntervalsSerializer(
        allow_null=True,
        help_text="Mean score per generator with its 95% interval, overall and per style.",
    )
    as_of = serializers.DateTimeField(help_text="When this leaderboard was computed.")
