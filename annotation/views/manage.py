"""/manage/: uploading batches and watching them (admins, and the managers and reviewers
of a project, who see their projects only)."""

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.validators import validate_slug
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from annotation.intake import (
    BatchRejected,
    Problem,
    StorageUnavailable,
    create_import_job,
    group_problems,
)
from annotation.models import Capability, Project, Split, User, capabilities, visible_projects
from annotation.projects import projects_with_counts, recent_batches
from annotation.views.navigation import may_open_manage

NEW_PROJECT = "+new"  # the project choice that creates one (not a slug: none can clash)


class BatchUploadForm(forms.Form):
    """The upload form. The project is chosen from those the user may upload into; a new
    one only by choosing "A new project" (admins) and giving its slug, so a mistyped
    slug is an error, never a new project. A browser cannot refill a file input: after
    any error the file must be chosen again (the page says so beside the field)."""

    file = forms.FileField(help_text="A .zip holding manifest.jsonl and the images.")
    project = forms.ChoiceField(
        help_text="The project the batch goes into.",
        error_messages={
            "required": "Choose the project the batch goes into.",
            "invalid_choice": "%(value)s is not a project you may upload into: choose one "
            "from the list.",
        },
    )
    new_project = forms.CharField(
        max_length=64,
        required=False,
        validators=[validate_slug],
        label="New project's slug",
        help_text='Only with "A new project" above: letters, digits, - and _ (e.g. foxes-2026).',
    )
    split = forms.ChoiceField(choices=Split.choices, initial=Split.TRAIN)
    judgments_per_task = forms.IntegerField(
        min_value=1, max_value=100, required=False, help_text="Blank: the project's default."
    )
    max_judgments_per_task = forms.IntegerField(
        min_value=1,
        max_value=100,
        required=False,
        label="Max judgments per task",
        help_text="Above the minimum, a task collects more only while its judgments disagree. "
        "Blank: the project's maximum.",
    )

    def __init__(
        self, *args: Any, projects: Sequence[Project] = (), may_create: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "Choose a project")]
        choices += [(project.slug, f"{project.name} ({project.slug})") for project in projects]
        if may_create:
            choices.append((NEW_PROJECT, "A new project (give its slug below)"))
        else:
            del self.fields["new_project"]
        self.fields["project"].choices = choices  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("project") != NEW_PROJECT:
            return data
        slug = data.get("new_project")
        if "new_project" in self.errors:
            pass
        elif not slug:
            self.add_error(
                "new_project", "Give the new project's slug, or choose an existing project above."
            )
        elif Project.objects.filter(slug=slug).exists():
            self.add_error(
                "new_project", f"A project {slug!r} exists already: choose it in the list above."
            )
        else:
            data["project"] = slug
        return data


def upload_refusal(user: User, slug: str) -> str | None:
    """Why `user` may not upload into project `slug` (None when they may): admins upload
    anywhere and create projects; a project's managers upload into it."""
    if user.is_platform_admin:
        return None
    project = Project.objects.filter(slug=slug).first()
    if project is None or Capability.MANAGE not in capabilities(user, project):
        return (
            f"you manage no project {slug!r}: upload into one of the projects listed below, "
            "or ask an admin to create this one"
        )
    return None


@login_required
def manage_home(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not may_open_manage(user):
        raise PermissionDenied("Only admins and project managers or reviewers may see this.")
    problems: list[Problem] = []
    posted = request.method == "POST"
    form = BatchUploadForm(
        request.POST if posted else None,
        request.FILES if posted else None,
        projects=list(visible_projects(user, Capability.MANAGE).order_by("name")),
        may_create=user.is_platform_admin,
    )
    refusal = upload_refusal(user, form.data.get("project", "")) if posted else None
    if refusal is not None and form.is_valid():
        problems = [Problem("project", refusal)]
    elif request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = create_import_job(
                data["file"],
                data["project"],
                split=data["split"],
                judgments_per_task=data["judgments_per_task"],
                max_judgments_per_task=data["max_judgments_per_task"],
                uploaded_by=request.user,  # type: ignore[arg-type]
            )
        except BatchRejected as rejected:
            problems = rejected.problems
        except StorageUnavailable as exc:
            problems = [Problem("storage", str(exc))]
        else:
            messages.success(request, f"Upload stored; import {job.pk} runs on a worker.")
            return redirect("import-job", pk=job.pk)
    status = 400 if problems or form.errors else 200
    managed = projects_with_counts(user, Capability.REVIEW)
    return render(
        request,
        "annotation/manage.html",
        {
            "form": form,
            "problems": problems,
            "problem_groups": group_problems(problems),
            "projects": [(project, capabilities(user, project)) for project in managed],
            "batches": recent_batches(projects=managed),
            "is_admin": user.is_platform_admin,
        },
        status=status,
    )
