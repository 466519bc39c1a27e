from django.urls import path

from annotation.views import manage, media, pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("projects/<slug:slug>/", pages.project_page, name="project-page"),
    path("manage/", manage.manage_home, name="manage"),
    path("media/<path:path>", media.media_file, name="media-file"),
]
