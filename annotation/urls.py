from django.urls import path

from annotation import views

urlpatterns = [
    path("", views.home, name="home"),
    path("media/<path:path>", views.media_file, name="media-file"),
]
