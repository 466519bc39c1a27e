from django.urls import path

from annotation.views import (
    annotate,
    audit,
    collection,
    datasets,
    flag_review,
    imports,
    invitations,
    manage,
    media,
    members,
    pages,
    pay,
    prompt_review,
    quality,
)

urlpatterns = [
    path("", pages.home, name="home"),
    path("projects/<slug:slug>/", pages.project_page, name="project-page"),
    path("manage/", manage.manage_home, name="manage"),
    path("annotate/<slug:slug>/", annotate.annotate, name="annotate"),
    path("manage/flags/", flag_review.flagged_images, name="flagged-images"),
    path("manage/imports/<id:pk>/", imports.import_job_page, name="import-job"),
    path(
        "manage/imports/<id:pk>/cancel/", imports.import_job_cancel, name="import-job-cancel-form"
    ),
    path("manage/imports/<id:pk>/retry/", imports.import_job_retry, name="import-job-retry-form"),
    path("datasets/", datasets.datasets_home, name="datasets"),
    path("datasets/<slug:slug>/exports/", datasets.start_export, name="datasets-export"),
    path("media/<path:path>", media.media_file, name="media-file"),
    path(
        "manage/projects/<slug:slug>/quality/", quality.quality_dashboard, name="quality-dashboard"
    ),
    path(
        "manage/projects/<slug:slug>/quality/annotators/<id:annotator_id>/",
        quality.set_annotator_excluded,
        name="annotator-exclusion",
    ),
    path("manage/projects/<slug:slug>/quality/gold/", quality.make_gold, name="make-gold"),
    path(
        "manage/projects/<slug:slug>/quality/repeats/",
        quality.schedule_repeats,
        name="schedule-repeats",
    ),
    path(
        "manage/projects/<slug:slug>/progress/",
        collection.progress_page,
        name="collection-progress",
    ),
    path(
        "manage/projects/<slug:slug>/progress/data/",
        collection.progress_data,
        name="collection-progress-data",
    ),
    path("manage/projects/<slug:slug>/pay/", pay.pay_page, name="pay-report"),
    path("manage/audit/", audit.platform_audit, name="platform-audit"),
    path("manage/projects/<slug:slug>/audit/", audit.project_audit, name="project-audit"),
    path("manage/projects/<slug:slug>/members/", members.project_members, name="project-members"),
    path("manage/projects/<slug:slug>/members/invite/", invitations.invite, name="project-invite"),
    path(
        "manage/projects/<slug:slug>/members/invitations.csv",
        invitations.invitations_download,
        name="project-invitations-csv",
    ),
    path("invite/<str:token>/", invitations.accept, name="accept-invitation"),
    path("manage/projects/<slug:slug>/prompts/", prompt_review.prompt_review, name="prompt-review"),
    path(
        "manage/projects/<slug:slug>/prompts/bulk/", prompt_review.prompt_bulk, name="prompt-bulk"
    ),
    path(
        "manage/projects/<slug:slug>/prompts/annotator-text/",
        prompt_review.annotator_text,
        name="prompt-annotator-text",
    ),
    path(
        "manage/projects/<slug:slug>/prompts/<id:prompt_id>/",
        prompt_review.prompt_edit,
        name="prompt-edit",
    ),
]
