"""/manage/projects/<slug>/quality/: agreement, annotators, position bias, gold and repeats.

The agreement report shown is the stored one, as of its time (the page never computes
it; annotation/quality/stored.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from annotation.models import (
    AuditAction,
    Capability,
    ProjectAnnotator,
    QualitySettings,
    User,
    capabilities,
)
from annotation.projects import check_project, form_changes, project_for, record_event
from annotation.quality import (
    GoldError,
    make_gold_pairs,
    refresh_quality_flags,
    schedule_repeat_items,
    served_agreement,
    set_excluded,
)
from core import charts
from core.throttling import throttle_page


class QualitySettingsForm(forms.ModelForm):
    class Meta:
        model = QualitySettings
        fields = [
            "min_agreement", "min_gold_accuracy", "max_position_bias", "min_self_consistency",
            "min_median_seconds", "min_judgments", "repeat_rate", "repeat_after_hours",
        ]  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("min_agreement", "min_gold_accuracy", "min_self_consistency", "repeat_rate"):
            value = data.get(name)
            if value is not None and not 0 <= value <= 1:
                self.add_error(name, "Give a share between 0 and 1 (e.g. 0.6).")
        bias = data.get("max_position_bias")
        if bias is not None and not 0 <= bias <= 0.5:
            self.add_error("max_position_bias", "Give a distance from 0.5 between 0 and 0.5.")
        for name in ("min_median_seconds", "repeat_after_hours"):
            value = data.get(name)
            if value is not None and value < 0:
                self.add_error(name, "Give a number of 0 or more.")
        return data


class GoldForm(forms.Form):
    count = forms.IntegerField(min_value=1, max_value=1000, initial=20)


@login_required
@throttle_page("compute")
def quality_dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.REVIEW)  # type: ignore[arg-type]
    if request.method == "POST":  # thresholds are a manager's setting
        check_project(request.user, project, Capability.MANAGE)  # type: ignore[arg-type]
    thresholds = QualitySettings.objects.filter(project=project).first() or QualitySettings(
        project=project
    )
    form = QualitySettingsForm(
        request.POST if request.method == "POST" else None, instance=thresholds
    )
    if request.method == "POST":
        if form.is_valid():
            before, after = form_changes(form)
            form.save()
            record_event(
                AuditAction.THRESHOLDS_CHANGED,
                actor=request.user,
                project=project,
                target="quality thresholds",
                before=before,
                after=after,
            )
            if refresh_quality_flags(project, stored_only=True) is None:
                messages.success(
                    request, "Thresholds saved; the quality flags follow once the report is ready."
                )
            else:
                messages.success(request, "Thresholds saved; quality flags recomputed.")
            return redirect("quality-dashboard", slug=slug)
        status = 400
    else:
        status = 200
    served = served_agreement(project)
    report = served.report
    standings = {
        standing.annotator_id: standing
        for standing in ProjectAnnotator.objects.filter(project=project).select_related("annotator")
    }
    excluded = [standing for standing in standings.values() if standing.is_excluded]
    annotators = report["annotators"] if report else []
    flagged = [entry for entry in annotators if entry["quality_flags"]]
    context = {
        "project": project,
        "served": served,
        "report": report,
        "annotators": annotators,
        "flagged": flagged,
        "excluded": excluded,
        "form": form,
        "gold_form": GoldForm(),
        "can_manage": Capability.MANAGE in capabilities(request.user, project),  # type: ignore[arg-type]
        "charts": _charts(report, thresholds) if report else None,
        "figures": _figures(report) if report else [],
    }
    return render(request, "annotation/quality.html", context, status=status)


FIGURES = (
    ("pairwise_agreement", "Pairwise agreement"),
    ("krippendorff_alpha", "Krippendorff's alpha (ordinal)"),
    ("kendall_w_mean", "Kendall's W (mean)"),
    ("human_ceiling", "Human ceiling"),
)


def _figures(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The headline figures, each with its bootstrap 95% interval over tasks."""
    intervals = report.get("intervals") or {}
    return [
        {"label": label, "value": report[key], "interval": intervals.get(key)}
        for key, label in FIGURES
    ]


def _charts(report: dict[str, Any], thresholds: QualitySettings) -> dict[str, Any]:
    annotators = report["annotators"]
    over_time = [(day["date"], day["agreement"]) for day in report["over_time"]]
    scatter = [
        (
            entry["median_seconds"],
            entry["agreement"],
            entry["annotator"],
            bool(entry["quality_flags"]),
        )
        for entry in annotators
        if entry["median_seconds"] is not None and entry["agreement"] is not None
    ]
    bias = [
        (
            entry["annotator"],
            entry["left_share"],
            "position_bias" in entry["quality_flags"],
        )
        for entry in annotators
    ]
    distribution = report["kendall_w_distribution"]
    return {
        "over_time": charts.line_chart(
            "Agreement with the other annotators, per day",
            over_time,
            y_label="agreement (share of pairs)",
            x_label="day",
        ),
        "scatter": charts.scatter_chart(
            "Agreement against median seconds per task, one dot per annotator",
            scatter,
            x_label="median seconds per task",
            y_label="agreement (share of pairs)",
            x_unit=" s",
        ),
        "bias": charts.bar_chart(
            "Share of each annotator's judgments where the first-shown image won",
            bias,
            reference=0.5,
            reference_label="0.5: no position bias",
            intervals=[entry["left_share_interval"] for entry in annotators],
            y_label="first shown won",
            x_label="annotator",
        ),
        "kendall": charts.histogram(
            "Kendall's W per task: how many tasks in each range",
            distribution["bin_edges"],
            distribution["counts"],
            x_label="Kendall's W (0: no agreement, 1: all annotators agree)",
            y_label="tasks",
        ),
    }


@login_required
@require_POST
def set_annotator_excluded(request: HttpRequest, slug: str, annotator_id: int) -> HttpResponse:
    project = project_for(request.user, slug, Capability.REVIEW)  # type: ignore[arg-type]
    annotator = get_object_or_404(User, pk=annotator_id)
    excluded = request.POST.get("excluded") == "1"
    reason = request.POST.get("reason", "")
    set_excluded(project, annotator, excluded=excluded, by=request.user, reason=reason)  # type: ignore[arg-type]
    record_event(
        AuditAction.ANNOTATOR_EXCLUDED if excluded else AuditAction.ANNOTATOR_INCLUDED,
        actor=request.user,
        project=project,
        target=annotator.external_id or annotator.username,
        after={"excluded": excluded, "reason": reason},
    )
    name = annotator.external_id or annotator.username
    messages.success(
        request,
        f"{name} is now excluded from statistics and exports (nothing was deleted)."
        if excluded
        else f"{name} is counted again.",
    )
    return redirect("quality-dashboard", slug=slug)


@login_required
@require_POST
def make_gold(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.MANAGE)  # type: ignore[arg-type]
    form = GoldForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give how many gold pairs to make: a number from 1 to 1000.")
        return redirect("quality-dashboard", slug=slug)
    try:
        made = make_gold_pairs(project, count=form.cleaned_data["count"])
    except GoldError as exc:
        messages.error(request, f"No gold pairs were made: {exc}.")
    else:
        messages.success(request, f"Made {len(made)} gold pair task(s).")
    return redirect("quality-dashboard", slug=slug)


@login_required
@require_POST
def schedule_repeats(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.MANAGE)  # type: ignore[arg-type]
    made = schedule_repeat_items(project)
    messages.success(request, f"Scheduled {made} repeat item(s).")
    return redirect("quality-dashboard", slug=slug)
