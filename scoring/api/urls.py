from django.urls import path

from scoring.api import views

urlpatterns = [
    path("models/", views.ModelVersionList.as_view(), name="model-version-list"),
    path("score/", views.ScoreImages.as_view(), name="score-images"),
]
