"""/annotate/{slug}/: the annotator's page. The work itself goes through the API."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import select_template
from django.urls import reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from annotation.judging import MAX_NOTE_LENGTH, annotator_progress
from annotation.models import Capability
from annotation.projects import project_for

DEFAULT_GUIDELINES = "annotation/guidelines/hpd-v2-1.html"


@login_required
@ensure_csrf_cookie
def annotate(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.ANNOTATE)  # type: ignore[arg-type]
    guidelines = select_template(
        [f"annotation/guidelines/{project.guideline_version}.html", DEFAULT_GUIDELINES]
    )
    progress = annotator_progress(project, request.user)  # type: ignore[arg-type]
    return render(
        request,
        "annotation/annotate.html",
        {
            "project": project,
            "guidelines_template": guidelines.template.name,
            "progress": progress,
            "next_url": reverse("next", args=[project.slug]),
            "submit_url": reverse("assignment-submit", args=[0]),
            "skip_url": reverse("assignment-skip", args=[0]),
            "undo_url": reverse("undo", args=[project.slug]),
            "note_max": MAX_NOTE_LENGTH,
        },
    )
