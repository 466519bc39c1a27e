"""/manage/training/: the learning loop's pages. The overview, promotion and roll-back
are the platform's (admins); a project's policy and its cycles are also its managers'.
Thin: services do the work."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from annotation.models import AuditAction, Capability, Project, User
from annotation.projects import form_changes, project_for, record_event
from core import charts
from core.access import admin_required
from scoring.queries import DEMO_MODEL_LABEL, active_model_version, demo_model_version
from scoring.services import ScoringError
from training.forms import EvaluationSetForm, PolicyForm, ScheduleForm
from training.models import TrainingPolicy, TrainingRun
from training.services.curves import accuracy_history, loss_curve
from training.services.cycle import start_cycle
from training.services.evaluation_set import (
    EvaluationSetError,
    eligible_snapshots,
    freeze_evaluation_set,
    frozen_set,
)
from training.services.generalisation import generator_table
from training.services.policy import judgment_tally, policy_for
from training.services.promotion import previous_active_version, promote, roll_back
from training.services.schedule import cycle_schedule, set_cycle_schedule

RUNS_SHOWN = 20
CURVES_SHOWN = 8


def _registry_context() -> dict[str, Any]:
    return {
        "active": active_model_version(),
        "previous": previous_active_version(),
        "demo_model": demo_model_version(),
        "demo_label": DEMO_MODEL_LABEL,
    }


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the project's training page when the form names a project, else the
    overview (never to an address taken from the request)."""
    slug = request.POST.get("project", "")
    if slug and Project.objects.filter(slug=slug).exists():
        return redirect("training-project", slug=slug)
    return redirect("manage-training")


@admin_required
def training_page(request: HttpRequest) -> HttpResponse:
    schedule = cycle_schedule()
    form = ScheduleForm(
        request.POST if request.method == "POST" else None,
        initial={"interval_minutes": schedule.interval_minutes, "enabled": schedule.enabled},
    )
    if request.method == "POST" and form.is_valid():
        saved = set_cycle_schedule(
            form.cleaned_data["interval_minutes"], form.cleaned_data["enabled"]
        )
        state = "on" if saved.enabled else "off"
        messages.success(
            request, f"Schedule saved: every {saved.interval_minutes} minute(s), {state}."
        )
        return redirect("manage-training")
    policies = {p.project_id: p for p in TrainingPolicy.objects.all()}
    projects = [
        (project, policies.get(project.pk), judgment_tally(project).new)
        for project in Project.objects.order_by("slug")
    ]
    runs = TrainingRun.objects.select_related("project", "candidate", "snapshot")[:RUNS_SHOWN]
    context = {
        "form": form,
        "schedule": schedule,
        "projects": projects,
        "runs": runs,
        **_registry_context(),
    }
    return render(request, "training/training.html", context, status=400 if form.errors else 200)


@login_required
def project_training(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.MANAGE)  # type: ignore[arg-type]
    policy = policy_for(project)
    form = PolicyForm(request.POST if request.method == "POST" else None, instance=policy)
    if request.method == "POST" and form.is_valid():
        before, after = form_changes(form)
        form.save()
        record_event(
            AuditAction.POLICY_CHANGED,
            actor=request.user,
            project=project,
            target="training policy",
            before=before,
            after=after,
        )
        messages.success(request, "Training policy saved; it applies to the next cycle.")
        return redirect("training-project", slug=slug)
    runs = list(
        TrainingRun.objects.filter(project=project).select_related(
            "candidate", "snapshot", "active_version", "starting_version"
        )[:RUNS_SHOWN]
    )
    curves = {}
    for run in runs[:CURVES_SHOWN]:
        points = loss_curve(run)
        if points:
            top = max(loss for _step, loss in points)
            curves[run.pk] = charts.line_chart(
                f"Training loss of run {run.pk}",
                [(f"step {step}", loss) for step, loss in points],
                low=0.0,
                high=top * 1.05 if top > 0 else 1.0,
                y_label="loss",
            )
    history = accuracy_history(project)
    accuracy_chart = charts.series_chart(
        f"Test accuracy of each model version on the {history.measured_on}, against "
        "the human ceiling of the same set"
        if history.frozen
        else "Test accuracy of each model version against the human ceiling",
        history.labels,
        history.series,
        reference=("human ceiling", history.ceiling),
        low=0.5,
        high=1.0,
        y_label="test accuracy",
    )
    context = {
        "project": project,
        "form": form,
        "tally": judgment_tally(project),
        "policy": TrainingPolicy.objects.get(pk=policy.pk),
        "rows": [(run, curves.get(run.pk)) for run in runs],
        "accuracy_chart": accuracy_chart if history.labels else None,
        "history": history,
        "generator_table": generator_table(runs),
        "frozen": frozen_set(project),
        "evaluation_form": EvaluationSetForm(snapshots=eligible_snapshots(project)),
        **_registry_context(),
    }
    return render(request, "training/project.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def start_now(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.MANAGE)  # type: ignore[arg-type]
    user = request.user if isinstance(request.user, User) else None
    started = start_cycle(project, trigger=TrainingRun.Trigger.PAGE, requested_by=user, force=True)
    if started.created:
        messages.success(request, f"Cycle queued as run {started.run.pk if started.run else ''}.")
    else:
        messages.error(request, f"No cycle started: {started.reason}.")
    return redirect("training-project", slug=slug)


@login_required
@require_POST
def freeze_evaluation(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.MANAGE)  # type: ignore[arg-type]
    form = EvaluationSetForm(request.POST, snapshots=eligible_snapshots(project))
    if not form.is_valid():
        messages.error(request, "No evaluation set frozen: choose one of the listed snapshots.")
        return redirect("training-project", slug=slug)
    user = request.user if isinstance(request.user, User) else None
    try:
        frozen = freeze_evaluation_set(project, form.snapshot_id(), user=user)
    except EvaluationSetError as exc:
        messages.error(request, f"No evaluation set frozen: {exc}.")
    else:
        messages.success(
            request,
            f"Evaluation set frozen: snapshot {frozen.snapshot.pk}; every model version is "
            "being measured on it.",
        )
    return redirect("training-project", slug=slug)


@admin_required
@require_POST
def promote_version(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        version = promote(pk)
    except ScoringError as exc:
        messages.error(request, str(exc))
    else:
        record_event(
            AuditAction.MODEL_PROMOTED,
            actor=request.user,
            target=f"model {version.name}",
            after={"status": version.status},
        )
        messages.success(request, f"{version.name} is now the active model.")
    return _back(request)


@admin_required
@require_POST
def roll_back_version(request: HttpRequest) -> HttpResponse:
    try:
        version = roll_back()
    except ScoringError as exc:
        messages.error(request, str(exc))
    else:
        record_event(
            AuditAction.MODEL_ROLLED_BACK,
            actor=request.user,
            target=f"model {version.name}",
            after={"active": version.name},
        )
        messages.success(request, f"Rolled back: {version.name} is the active model again.")
    return _back(request)
