from __future__ import annotations

from typing import Any

from rest_framework import serializers

from scoring.models import ModelVersion

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
