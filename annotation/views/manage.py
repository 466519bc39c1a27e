"""/manage/: the admin's page for uploading batches and watching them."""

from django import forms
from django.contrib import messages
from django.core.validators import validate_slug
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from annotation.intake import BatchRejected, Problem, StorageUnavailable, import_upload
from annotation.models import Split
from annotation.projects import projects_with_counts, recent_batches
from core.access import admin_required


class BatchUploadForm(forms.Form):
    file = forms.FileField(help_text="A .zip holding manifest.jsonl and the images.")
    project = forms.CharField(
        max_length=64,
        validators=[validate_slug],
        help_text="An existing project's slug, or a new one (created by this upload).",
    )
    split = forms.ChoiceField(choices=Split.choices, initial=Split.TRAIN)
    judgments_per_task = forms.IntegerField(
        min_value=1, max_value=100, required=False, help_text="Blank: the project's default."
    )


@admin_required
def manage_home(request: HttpRequest) -> HttpResponse:
    problems: list[Problem] = []
    posted = request.method == "POST"
    form = BatchUploadForm(request.POST if posted else None, request.FILES if posted else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            summary = import_upload(
                data["file"],
                data["project"],
                split=data["split"],
                judgments_per_task=data["judgments_per_task"],
                uploaded_by=request.user,  # type: ignore[arg-type]
            )
        except BatchRejected as rejected:
            problems = rejected.problems
        except StorageUnavailable as exc:
            problems = [Problem("storage", str(exc))]
        else:
            messages.success(
                request,
                f"Imported batch {summary.batch} into {summary.project}: {summary.prompts} "
                f"prompts, {summary.images} images, {summary.tasks} tasks.",
            )
            return redirect("manage")
    status = 400 if problems or form.errors else 200
    return render(
        request,
        "annotation/manage.html",
        {
            "form": form,
            "problems": problems,
            "projects": projects_with_counts(),
            "batches": recent_batches(),
        },
        status=status,
    )
