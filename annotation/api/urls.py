from django.urls import path

from annotation.api import (
    annotate_views,
    export_views,
    leaderboard_views,
    member_views,
    quality,
    views,
)

urlpatterns = [
    path("projects/", views.ProjectList.as_view(), name="project-list"),
    path("projects/<slug:slug>/", views.ProjectDetail.as_view(), name="project-detail"),
    path("projects/<slug:slug>/batches/", views.ProjectBatches.as_view(), name="project-batches"),
    path(
        "projects/<slug:slug>/agreement/",
        quality.ProjectAgreement.as_view(),
        name="project-agreement",
    ),
    path(
        "projects/<slug:slug>/exports/",
        export_views.ProjectExports.as_view(),
        name="project-exports",
    ),
    path(
        "projects/<slug:slug>/leaderboard/",
        leaderboard_views.ProjectLeaderboard.as_view(),
        name="project-leaderboard",
    ),
    path(
        "projects/<slug:slug>/members/",
        member_views.ProjectMembers.as_view(),
        name="project-members-api",
    ),
    path(
        "projects/<slug:slug>/members/<str:username>/",
        member_views.ProjectMember.as_view(),
        name="project-member-api",
    ),
    path("projects/<slug:slug>/pay/", member_views.ProjectPay.as_view(), name="project-pay-api"),
    path("imports/<id:pk>/", views.ImportJobDetail.as_view(), name="import-job-detail"),
    path("imports/<id:pk>/cancel/", views.ImportJobCancel.as_view(), name="import-job-cancel"),
    path("imports/<id:pk>/retry/", views.ImportJobRetry.as_view(), name="import-job-retry"),
    path("exports/<id:pk>/", export_views.ExportDetail.as_view(), name="export-detail"),
    path(
        "exports/<id:pk>/download/", export_views.ExportDownload.as_view(), name="export-download"
    ),
]

# The annotator workflow (next task, submit, skip, undo).
urlpatterns += [
    path("projects/<slug:slug>/next/", annotate_views.NextAssignment.as_view(), name="next"),
    path("projects/<slug:slug>/undo/", annotate_views.UndoLastJudgment.as_view(), name="undo"),
    path(
        "assignments/<id:pk>/submit/",
        annotate_views.SubmitAssignment.as_view(),
        name="assignment-submit",
    ),
    path(
        "assignments/<id:pk>/skip/",
        annotate_views.SkipAssignment.as_view(),
        name="assignment-skip",
    ),
]
