"""The home page and a project's page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from annotation.projects import projects_with_counts, recent_batches, sample_tasks
from core.access import dataset_reader_required
from scoring.queries import mean_score_by_generator


def home(request: HttpRequest) -> HttpResponse:
    projects = projects_with_counts() if request.user.is_authenticated else []
    return render(request, "annotation/home.html", {"projects": projects})


@dataset_reader_required
def project_page(request: HttpRequest, slug: str) -> HttpResponse:
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
