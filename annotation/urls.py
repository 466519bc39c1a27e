from django.urls import path

from annotation.views import annotate, flag_review, manage, media, pages

urlpatterns = [
    path("", pages.home, name="home"),
    path("projects/<slug:slug>/", pages.project_page, name="project-page"),
    path("manage/", manage.manage_home, name="manage"),
    path("annotate/<slug:slug>/", annotate.annotate, name="annotate"),
    path("manage/flags/", flag_review.flagged_images, name="flagged-images"),
    path("media/<path:path>", media.media_file, name="media-file"),
]
