from django.urls import path

from annotation.views import datasets, manage, media, pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("projects/<slug:slug>/", pages.project_page, name="project-page"),
    path("manage/", manage.manage_home, name="manage"),
    path("datasets/", datasets.datasets_home, name="datasets"),
    path("datasets/<slug:slug>/exports/", datasets.start_export, name="datasets-export"),
    path("media/<path:path>", media.media_file, name="media-file"),
]
