from rest_framework import serializers

from annotation.models import Batch, Project, Split, User


class ProjectSerializer(serializers.ModelSerializer):
    prompt_count = serializers.IntegerField(read_only=True)
    image_count = serializers.IntegerField(read_only=True)
    task_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Project
        fields = [
            "slug",
            "name",
            "task_type",
            "images_per_task",
            "judgments_per_task",
            "guideline_version",
            "gold_rate",
            "lease_seconds",
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

    class Meta:
        model = Batch
        fields = [
            "id",
            "project",
            "status",
            "split",
            "judgments_per_task",
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
    prompts = serializers.IntegerField()
    images = serializers.IntegerField()
    tasks = serializers.IntegerField()
    seconds = serializers.FloatField()
