from django.urls import path

from scoring.api import views

urlpatterns = [
    path("models/", views.ModelVersionList.as_view(), name="model-version-list"),
    path("score/", views.ScoreImages.as_view(), name="score-images"),
    path("score/jobs/<id:pk>/", views.ScoreJobDetail.as_view(), name="score-job-detail"),
    path("benchmarks/", views.BenchmarkList.as_view(), name="benchmark-list"),
    path(
        "benchmarks/jobs/<id:pk>/", views.BenchmarkJobDetail.as_view(), name="benchmark-job-detail"
    ),
]
