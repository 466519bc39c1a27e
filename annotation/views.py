"""Server-rendered pages of the human side."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotation.api.views import projects_with_counts


def home(request: HttpRequest) -> HttpResponse:
    projects = projects_with_counts() if request.user.is_authenticated else []
    return render(request, "annotation/home.html", {"projects": projects})
