from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from scoring.cli import PRECISION_CHOICES
from scoring.models import BenchmarkJob, BenchmarkResult, ModelVersion, ScoreJob

MAX_IMAGES_PER_REQUEST = 64


class ModelVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelVersion
        fields = [
            "id",
            "name",
            "architecture",
            "status",
            "checkpoint_path",
            "checkpoint_sha256",
            "source",
            "metrics",
            "created_at",
            "activated_at",
            "retired_at",
        ]


class ScoreRequestSerializer(serializers.Serializer):
    prompt = serializers.CharField(
        required=False,
        max_length=2000,
        help_text="Required with uploaded images; with image_ids, default: each image's prompt.",
    )
    images = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        max_length=MAX_IMAGES_PER_REQUEST,
        help_text=f"Image files (multipart), at most {MAX_IMAGES_PER_REQUEST}.",
    )
    image_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=MAX_IMAGES_PER_REQUEST,
        help_text="Ids of stored images, instead of files.",
    )
    model_version = serializers.CharField(
        required=False, help_text="A version's name; default: the active version."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_images, has_ids = bool(attrs.get("images")), bool(attrs.get("image_ids"))
        if has_images == has_ids:
            raise serializers.ValidationError(
                "send either images (files) or image_ids, one of the two"
            )
        if has_images and not attrs.get("prompt", "").strip():
            raise serializers.ValidationError({"prompt": "a prompt is required with images"})
        return attrs


class ScoredImageSerializer(serializers.Serializer):
    image = serializers.CharField(help_text="The uploaded file's name, or the stored image's id.")
    score = serializers.FloatField(help_text="Raw cosine similarity, as the official scorer.")


class ScoreResponseSerializer(serializers.Serializer):
    model_version = serializers.CharField()
    scores = ScoredImageSerializer(many=True)


class BenchmarkQuerySerializer(serializers.Serializer):
    """The list's filters; a CharField refuses a NUL character (PostgreSQL cannot compare
    with one) with a 400 naming the parameter."""

    model_version = serializers.CharField(required=False, allow_blank=True, max_length=200)
    generator = serializers.CharField(required=False, allow_blank=True, max_length=200)


class BenchmarkResultSerializer(serializers.ModelSerializer):
    model_version: serializers.SlugRelatedField[ModelVersion] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    styles = serializers.SerializerMethodField(
        help_text="Per style: mean, std, ci_low, ci_high (95% bootstrap), images; 100 x cosine."
    )
    average = serializers.SerializerMethodField(help_text="mean, ci_low, ci_high, images.")

    class Meta:
        model = BenchmarkResult
        fields = [
            "id",
            "generator",
            "model_version",
            "images_checksum",
            "precision",
            "antialias",
            "styles",
            "average",
            "skipped",
            "bootstrap",
            "seed",
            "created_at",
            "updated_at",
        ]

    def get_styles(self, result: BenchmarkResult) -> dict[str, dict[str, float]]:
        return dict(result.figures["styles"])

    def get_average(self, result: BenchmarkResult) -> dict[str, float]:
        return dict(result.figures["average"])


class BenchmarkJobSerializer(serializers.ModelSerializer):
    model_version: serializers.SlugRelatedField[ModelVersion] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    result = BenchmarkResultSerializer(read_only=True, allow_null=True)
    url = serializers.SerializerMethodField(help_text="Where to follow the job.")

    class Meta:
        model = BenchmarkJob
        fields = [
            "id",
            "url",
            "status",
            "model_version",
            "parameters",
            "result",
            "reused",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]

    def get_url(self, job: BenchmarkJob) -> str:
        return reverse("benchmark-job-detail", kwargs={"pk": job.pk})


class BenchmarkRequestSerializer(serializers.Serializer):
    prompts = serializers.CharField(
        max_length=1000, help_text="Folder of the style prompt files, under BENCHMARK_ROOT."
    )
    images = serializers.CharField(
        max_length=1000, help_text="Folder with one sub-folder per style, under BENCHMARK_ROOT."
    )
    model_version = serializers.CharField(
        required=False, help_text="A version's name; default: the active version."
    )
    generator = serializers.CharField(
        required=False, max_length=200, help_text="Default: the images folder's name."
    )
    precision = serializers.ChoiceField(choices=PRECISION_CHOICES, required=False)
    antialias = serializers.BooleanField(required=False, default=False)
    allow_missing = serializers.BooleanField(required=False, default=False)
    bootstrap = serializers.IntegerField(required=False, min_value=1, max_value=100_000)
    seed = serializers.IntegerField(required=False)
    force = serializers.BooleanField(
        required=False, default=False, help_text="Score again even if a result is stored."
    )


class ScoreJobSerializer(serializers.ModelSerializer):
    model_version: serializers.SlugRelatedField[ModelVersion] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    url = serializers.SerializerMethodField(help_text="Where to poll for the result.")
    result = ScoreResponseSerializer(read_only=True, allow_null=True)

    class Meta:
        model = ScoreJob
        fields = [
            "id",
            "url",
            "status",
            "model_version",
            "result",
            "error",
            "created_at",
            "finished_at",
        ]

    def get_url(self, job: ScoreJob) -> str:
        return reverse("score-job-detail", kwargs={"pk": job.pk})
