from django.urls import path

from training import views

urlpatterns = [
    path("manage/training/", views.training_page, name="manage-training"),
    path("manage/training/rollback/", views.roll_back_version, name="training-rollback"),
    path(
        "manage/training/versions/<id:pk>/promote/",
        views.promote_version,
        name="training-promote",
    ),
    path("manage/training/projects/<slug:slug>/", views.project_training, name="training-project"),
    path("manage/training/projects/<slug:slug>/start/", views.start_now, name="training-start"),
    path(
        "manage/training/projects/<slug:slug>/evaluation-set/",
        views.freeze_evaluation,
        name="training-evaluation-set",
    ),
]
