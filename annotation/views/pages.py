"""The home page and a project's page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from annotation.models import Capability
from annotation.projects import project_for, projects_with_counts, recent_batches, sample_tasks
from scoring.queries import mean_score_by_generator


def home(request: HttpRequest) -> HttpResponse:
    projects = projects_with_counts(request.user) if request.user.is_authenticated else []
    return render(request, "annotation/home.html", {"projects": projects})


@login_required
def project_page(request: HttpRequest, slug: str) -> HttpResponse:
    project_for(request.user, slug, Capability.VIEW)  # type: ignore[arg-type]
    project = get_object_or_404(projects_with_counts(), slug=slug)
    return render(
        request,
        "annotation/project.html",
        {
            "project": project,
            "batches": recent_batches(project),
            "tasks": sample_tasks(project),
            "generator_scores": mean_score_by_generator(project),
        },
    )
