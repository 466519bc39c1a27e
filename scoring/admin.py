"""Django's /admin/ for the registry. Status changes go through /manage/models/ (the
services keep one version active and queue scoring), so status is read-only here."""

from django.contrib import admin

from scoring.models import ImageScore, ModelVersion


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


@admin.register(ImageScore)
class ImageScoreAdmin(admin.ModelAdmin):
    list_display = ("image", "model_version", "score", "created_at")
    list_filter = ("model_version",)
    search_fields = ("image__sha256", "image__original_name")
    raw_id_fields = ("image",)
    list_select_related = ("image", "model_version")

    def has_add_permission(self, request: object) -> bool:  # scores come from the scorer
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
