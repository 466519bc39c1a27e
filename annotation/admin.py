from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from annotation.models import (
    Assignment,
    Batch,
    ExportSnapshot,
    Image,
    ImageFlag,
    Judgment,
    LlmCleaning,
    PairJudgment,
    Project,
    ProjectAnnotator,
    Prompt,
    QualitySettings,
    StoredReport,
    Task,
    TaskImage,
    User,
)


@admin.register(User)
class PlatformUserAdmin(UserAdmin):
    list_display = ("username", "role", "is_active", "external_id", "date_joined")
    list_filter = ("role", "is_active")
    fieldsets = (*(UserAdmin.fieldsets or ()), ("Platform", {"fields": ("role", "external_id")}))
    add_fieldsets = (*UserAdmin.add_fieldsets, ("Platform", {"fields": ("role",)}))


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "task_type", "images_per_task", "judgments_per_task")
    search_fields = ("slug", "name")


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "status", "split", "prompt_count", "image_count", "created_at")
    list_filter = ("status", "split", "project")
    raw_id_fields = ("uploaded_by",)


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "raw_text", "style", "is_unsafe")
    list_filter = ("project", "style", "is_unsafe")
    search_fields = ("raw_text",)
    raw_id_fields = ("batch",)
    show_full_result_count = False


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "original_name", "generator", "width", "height", "sha256")
    list_filter = ("project", "generator", "is_withdrawn")
    search_fields = ("sha256", "original_name")
    raw_id_fields = ("prompt",)
    show_full_result_count = False


class TaskImageInline(admin.TabularInline):
    model = TaskImage
    raw_id_fields = ("image",)
    extra = 0


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "judgments_done", "judgments_wanted", "is_gold")
    list_filter = ("project", "is_gold", "is_active")
    raw_id_fields = ("batch", "prompt", "repeat_of", "repeat_for")
    inlines = [TaskImageInline]
    show_full_result_count = False


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "annotator", "status", "expires_at")
    list_filter = ("status",)
    raw_id_fields = ("task", "annotator")
    show_full_result_count = False


@admin.register(Judgment)
class JudgmentAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "annotator", "created_at", "guideline_version")
    raw_id_fields = ("assignment", "task", "annotator")
    show_full_result_count = False


@admin.register(PairJudgment)
class PairJudgmentAdmin(admin.ModelAdmin):
    list_display = ("id", "task", "annotator", "winner", "loser")
    raw_id_fields = ("judgment", "task", "annotator", "winner", "loser", "project")
    show_full_result_count = False


@admin.register(ProjectAnnotator)
class ProjectAnnotatorAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "annotator", "calibrated_at", "is_excluded")
    list_filter = ("project", "is_excluded")
    search_fields = ("annotator__username",)
    raw_id_fields = ("annotator", "excluded_by")


@admin.register(QualitySettings)
class QualitySettingsAdmin(admin.ModelAdmin):
    list_display = ("project", "min_agreement", "min_gold_accuracy", "repeat_rate", "updated_at")
    search_fields = ("project__slug",)


@admin.register(StoredReport)
class StoredReportAdmin(admin.ModelAdmin):
    list_display = ("project", "kind", "data_version", "seconds", "computed_at")
    list_filter = ("kind",)
    search_fields = ("project__slug",)


@admin.register(LlmCleaning)
class LlmCleaningAdmin(admin.ModelAdmin):
    list_display = ("model", "style", "cleaned_text", "created_at")
    search_fields = ("cleaned_text", "text_sha256")


@admin.register(ImageFlag)
class ImageFlagAdmin(admin.ModelAdmin):
    list_display = ("id", "image", "kind", "annotator", "is_cleared", "created_at")
    list_filter = ("kind", "is_cleared")
    raw_id_fields = ("image", "annotator", "assignment")


@admin.register(ExportSnapshot)
class ExportSnapshotAdmin(admin.ModelAdmin):
    list_display = ("id", "project", "status", "progress", "checksum", "created_by", "created_at")
    list_filter = ("status", "project")
    search_fields = ("checksum",)
    raw_id_fields = ("created_by",)
    # A snapshot is immutable: its files and checksum are never edited here.
    readonly_fields = ("parameters", "status", "progress", "counts", "checksum", "path", "error")
