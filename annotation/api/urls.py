from django.urls import path

from annotation.api import quality, views

urlpatterns = [
    path("projects/", views.ProjectList.as_view(), name="project-list"),
    path("projects/<slug:slug>/", views.ProjectDetail.as_view(), name="project-detail"),
    path("projects/<slug:slug>/batches/", views.ProjectBatches.as_view(), name="project-batches"),
    path(
        "projects/<slug:slug>/agreement/",
        quality.ProjectAgreement.as_view(),
        name="project-agreement",
    ),
]
