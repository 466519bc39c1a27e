"""/manage/projects/<slug>/progress/: how the collection of a project, or of one of its
batches (?batch=<id>), is going; the page polls the figures from .../progress/data/."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from annotation.judging import CollectionProgress, batch_progress, collection_progress
from annotation.models import Batch, Capability, Project
from annotation.projects import project_for
from core import charts

REFRESH_SECONDS = 15  # how often the page asks for new figures


def chosen_batch(request: HttpRequest, project: Project) -> Batch | None:
    """The batch named by ?batch=, or None for the whole project; 404 with what to do
    when it is not a batch of this project."""
    raw = request.GET.get("batch", "")
    if not raw:
        return None
    batch = Batch.objects.filter(project=project, pk=int(raw)).first() if raw.isdigit() else None
    if batch is None:
        raise Http404(
            f"{project.slug} has no batch {raw!r}: pick one from the project's progress page."
        )
    return batch


def share(value: float | None) -> str:
    return "\u2013" if value is None else f"{value:.0%}"  # an en dash: no value


def hours(value: float | None) -> str:
    """A duration in hours, in words a person reads at a glance."""
    if value is None:
        return "no upper bound"
    if value < 1:
        return f"{max(1, round(value * 60))} min"
    if value < 48:
        return f"{value:.1f} h"
    return f"{value / 24:.1f} days"


def eta_words(progress: CollectionProgress) -> tuple[str, str]:
    if progress.remaining == 0:
        return "done", "nothing is wanted now"
    if progress.eta_hours is None or progress.eta_interval is None:
        return "unknown", "no judgment in the last hour"
    low, high = progress.eta_interval
    return hours(progress.eta_hours), f"95% interval {hours(low)} to {hours(high)}"


def figures(progress: CollectionProgress) -> dict[str, str]:
    """Every figure as the page shows it, keyed by the data-figure names of
    templates/annotation/collection_progress.html (static/js/progress.js fills them)."""
    rate_low, rate_high = progress.rate_interval
    eta, eta_note = eta_words(progress)
    skip = progress.skip_interval
    return {
        "collected": str(progress.collected),
        "wanted": str(progress.wanted),
        "remaining": str(progress.remaining),
        "collected_share": share(progress.collected / progress.wanted if progress.wanted else None),
        "tasks_complete": str(progress.tasks_complete),
        "tasks": str(progress.tasks),
        "share_complete": share(progress.share_complete),
        "out_of_circulation": str(progress.out_of_circulation),
        "rate": str(progress.last_hour),
        "rate_interval": f"95% interval {rate_low:.1f} to {rate_high:.1f} per hour",
        "eta": eta,
        "eta_interval": eta_note,
        "active_now": str(progress.active_now),
        "active_today": str(progress.active_today),
        "skip_rate": share(progress.skip_rate),
        "skip_interval": (
            f"{progress.skipped} of {progress.finished} finished; 95% interval "
            f"{share(skip[0])} to {share(skip[1])}"
            if skip
            else "nothing finished yet"
        ),
        "leases": str(progress.leases_held),
    }


def hourly_chart(progress: CollectionProgress) -> str:
    bars = [(hour.strftime("%H:00"), float(n), False) for hour, n in progress.hourly]
    tallest = max((n for _h, n in progress.hourly), default=0)
    return charts.bar_chart(
        f"Judgments per hour, last {len(bars)} hours",
        bars,
        high=charts.nice_ceiling(tallest, whole=True),
        y_label="judgments",
        x_label=f"hour starting ({timezone.get_current_timezone_name()})",
        value_unit=" judgments",
    )


def payload(project: Project, batch: Batch | None) -> dict[str, Any]:
    progress = collection_progress(project, batch)
    return {
        "figures": figures(progress),
        "chart": hourly_chart(progress),
        "batches": batch_rows(project) if batch is None else [],
        "computed_at": timezone.localtime().strftime("%H:%M:%S"),
    }


def batch_rows(project: Project) -> list[dict[str, Any]]:
    return [
        {
            "id": row.batch.pk,
            "status": row.batch.get_status_display(),
            "source": row.batch.source_name,
            "collected": row.collected,
            "wanted": row.wanted,
            "complete": f"{row.tasks_complete} of {row.tasks}",
            "share": share(row.tasks_complete / row.tasks if row.tasks else None),
        }
        for row in batch_progress(project)
    ]


@login_required
def progress_page(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.VIEW)  # type: ignore[arg-type]
    batch = chosen_batch(request, project)
    context = {"project": project, "batch": batch, "refresh_seconds": REFRESH_SECONDS}
    return render(request, "annotation/collection_progress.html", context | payload(project, batch))


@login_required
def progress_data(request: HttpRequest, slug: str) -> JsonResponse:
    project = project_for(request.user, slug, Capability.VIEW)  # type: ignore[arg-type]
    return JsonResponse(payload(project, chosen_batch(request, project)))
