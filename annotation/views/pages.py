"""The home page and a project's page."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from annotation.judging import judged_by, tasks_left_for
from annotation.models import Capability
from annotation.projects import project_for, projects_with_counts, recent_batches, sample_tasks
from scoring.queries import mean_score_by_generator


def home(request: HttpRequest) -> HttpResponse:
    projects = list(projects_with_counts(request.user)) if request.user.is_authenticated else []
    if projects:
        left = tasks_left_for(request.user)  # type: ignore[arg-type]
        judged = judged_by(request.user)  # type: ignore[arg-type]
        for project in projects:
            project.left_for_you = left.get(project.pk, 0)  # type: ignore[attr-defined]
            project.judged_by_you = judged.get(project.pk, 0)  # type: ignore[attr-defined]
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
