"""Django's /admin/ for the registry. Status changes go through /manage/models/ (the
services keep one version active and queue scoring), so status is read-only here."""

from django.contrib import admin

from scoring.models import BenchmarkJob, BenchmarkResult, ImageScore, ModelVersion, ScoreJob


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "architecture", "status", "created_at", "activated_at")
    list_filter = ("status", "architecture")
    search_fields = ("name", "source", "checkpoint_sha256")
    readonly_fields = (
        "status",
        "checkpoint_path",
        "checkpoint_sha256",
        "created_at",
        "activated_at",
        "retired_at",
    )


class _ReadOnly(admin.ModelAdmin):
    """Rows the scorer and its jobs write; the admin only reads them."""

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(ImageScore)
class ImageScoreAdmin(_ReadOnly):
    list_display = ("image", "model_version", "score", "precision", "antialias", "created_at")
    list_filter = ("model_version",)
    search_fields = ("image__sha256", "image__original_name")
    raw_id_fields = ("image",)
    list_select_related = ("image", "model_version")


@admin.register(BenchmarkResult)
class BenchmarkResultAdmin(_ReadOnly):
    list_display = ("generator", "model_version", "precision", "antialias", "updated_at")
    list_filter = ("model_version", "precision", "antialias")
    search_fields = ("generator", "images_checksum")


@admin.register(BenchmarkJob)
class BenchmarkJobAdmin(_ReadOnly):
    list_display = ("pk", "model_version", "status", "reused", "created_by", "created_at")
    list_filter = ("status",)


@admin.register(ScoreJob)
class ScoreJobAdmin(_ReadOnly):
    list_display = ("pk", "model_version", "status", "created_by", "created_at")
    list_filter = ("status",)
