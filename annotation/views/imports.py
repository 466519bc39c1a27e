"""/manage/imports/<id>/: an uploaded batch's import, followed while a worker runs it
(static/js/import_job.js refreshes it from GET /api/v1/imports/<id>/), with cancel and
retry."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from annotation.intake import (
    ImportJobRefused,
    Problem,
    cancel_import_job,
    describe_import_job,
    group_problems,
    retry_import_job,
)
from annotation.models import ImportJob, Project
from annotation.projects import import_job_for


@login_required
def import_job_page(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_for(request.user, pk)  # type: ignore[arg-type]
    project = Project.objects.filter(slug=job.project_slug).first()
    return render(
        request,
        "annotation/import_job.html",
        {
            "job": job,
            "detail": describe_import_job(job),
            "problem_groups": group_problems([Problem(**problem) for problem in job.problems]),
            "project": project if job.status == ImportJob.Status.SUCCEEDED else None,
            "api_url": reverse("import-job-detail", kwargs={"pk": job.pk}),
            "stages": [
                ("Files checked", "files", job.files_checked, job.files_total),
                ("Images stored", "images", job.images_stored, job.images_total),
                ("Rows written", "rows", job.rows_written, job.rows_total),
            ],
        },
    )


@login_required
@require_POST
def import_job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _change(request, pk, cancel_import_job, "Cancel asked for; nothing is kept.")


@login_required
@require_POST
def import_job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    return _change(request, pk, retry_import_job, "Queued again; it runs from the start.")


def _change(
    request: HttpRequest, pk: int, change: Callable[[int], ImportJob], done: str
) -> HttpResponse:
    job = import_job_for(request.user, pk)  # type: ignore[arg-type]
    try:
        change(job.pk)
    except ImportJobRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, done)
    return redirect("import-job", pk=job.pk)
