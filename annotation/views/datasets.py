"""/datasets/: researchers' page: export snapshots (start one, follow, download) and the
generator leaderboard (the stored one, as of its time: the page never fits it)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from annotation import export
from annotation.leaderboard import served_leaderboard
from annotation.models import (
    AuditAction,
    Capability,
    ExportSnapshot,
    Project,
    User,
    visible_projects,
)
from annotation.projects import project_for, record_event
from core import charts
from core.throttling import throttle_page

DATE_ERROR = "Give a date as YYYY-MM-DD (e.g. 2026-03-01), or leave it blank for no limit."


class ExportForm(forms.Form):
    """What an export keeps; each field's problem is shown beside it."""

    split = forms.ChoiceField(choices=[("all", "All"), ("train", "Train"), ("test", "Test")])
    created_from = forms.DateField(
        required=False,
        label="Judgments from",
        help_text="Judgments made on or after this day. Blank: from the first.",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": DATE_ERROR},
    )
    created_to = forms.DateField(
        required=False,
        label="Judgments to",
        help_text="Judgments made on or before this day. Blank: up to now.",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": DATE_ERROR},
    )
    exclude_flagged_annotators = forms.BooleanField(required=False)
    exclude_gold = forms.BooleanField(required=False)
    min_annotators = forms.IntegerField(
        min_value=1,
        max_value=1000,
        initial=1,
        help_text="Smallest test group kept (1 keeps every group).",
        error_messages={
            "required": "Give the smallest test group to keep, from 1 to 1000 (1 keeps all).",
            "min_value": "Give at least 1 (1 keeps every test group).",
            "max_value": "Give at most 1000.",
            "invalid": "Give a whole number from 1 to 1000.",
        },
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error(
                "created_to",
                f"{end} is before the start day {start}: give a later day, or swap the two.",
            )
        return data


def _research_projects(user: User) -> list[Project]:
    """The projects whose data the user may read; a 403 for someone with none at all."""
    projects = list(visible_projects(user, Capability.RESEARCH).order_by("slug"))
    if not projects and not user.can_read_datasets:
        raise PermissionDenied("Only admins and researchers may see this.")
    return projects


@login_required
@throttle_page("compute")
def datasets_home(request: HttpRequest) -> HttpResponse:
    projects = _research_projects(request.user)  # type: ignore[arg-type]
    chosen = request.GET.get("project") or (projects[0].slug if projects else None)
    return _render(request, projects, chosen, ExportForm(), [])


@login_required
def start_export(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.RESEARCH)  # type: ignore[arg-type]
    if request.method != "POST":
        return redirect(f"/datasets/?project={project.slug}")
    form = ExportForm(request.POST)
    problems: list[str] = []
    if form.is_valid():
        try:
            started = export.start_export(project, form.cleaned_data, created_by=request.user)  # type: ignore[arg-type]
        except export.ExportParamsError as exc:
            problems = exc.problems
        except export.ExportRefused as exc:
            problems = [str(exc)]
        else:
            snapshot = started.snapshot
            if started.reused:
                messages.success(
                    request,
                    f"Export {snapshot.pk} has these parameters on unchanged data; it is "
                    "reused below (nothing new was started).",
                )
                return redirect(f"/datasets/?project={project.slug}")
            record_event(
                AuditAction.EXPORT_STARTED,
                actor=request.user,
                project=project,
                target=f"export {snapshot.pk}",
                after=snapshot.parameters,
            )
            messages.success(request, f"Export {snapshot.pk} started; it appears below.")
            return redirect(f"/datasets/?project={project.slug}")
    else:
        problems = [
            f"{form.fields[name].label or name}: {' '.join(str(e) for e in errors)}"
            if name in form.fields
            else " ".join(str(e) for e in errors)
            for name, errors in form.errors.items()
        ]
    projects = _research_projects(request.user)  # type: ignore[arg-type]
    return _render(request, projects, project.slug, form, problems, status=400)


def strength_chart(table: dict[str, Any]) -> str:
    """The leaderboard's strengths, best first, each with its bootstrap 95% interval."""
    rows = [
        (row["generator"], row["strength"], row["low"], row["high"])
        for row in table.get("generators") or []
    ]
    return charts.interval_chart(
        "Generator strengths with 95% intervals",
        rows,
        x_label="Bradley-Terry strength (log scale; 0: the average generator)",
        zero_label="average",
    )


def _render(
    request: HttpRequest,
    projects: list[Project],
    chosen: str | None,
    form: ExportForm,
    problems: list[str],
    status: int = 200,
) -> HttpResponse:
    project = next((p for p in projects if p.slug == chosen), None)
    context: dict[str, object] = {
        "projects": projects,
        "project": project,
        "form": form,
        "problems": problems,
    }
    if project is not None:
        snapshots = list(
            ExportSnapshot.objects.filter(project=project).select_related("created_by")[:50]
        )
        for snapshot in snapshots:
            snapshot.parameter_words = export.describe_export(snapshot.parameters)  # type: ignore[attr-defined]
        context["snapshots"] = snapshots
        served = served_leaderboard(project)
        context["served"] = served
        board = served.report
        if board is None:
            return render(request, "annotation/datasets.html", context, status=status)
        context["leaderboard"] = board
        context["chart"] = strength_chart(board["overall"])
        context["style_tables"] = sorted(board["styles"].items())
        scores = board["mean_score_intervals"]
        if scores:
            context["score_tables"] = [
                ("All styles", scores["overall"]),
                *sorted(scores["styles"].items()),
            ]
    return render(request, "annotation/datasets.html", context, status=status)
