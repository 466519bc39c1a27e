"""Per-project training policy and when a project is due for a cycle."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max

from annotation.models import Project
from annotation.quality import counted_judgments
from training.models import TrainingPolicy, TrainingRun
from training.services.steps import EXPORT_PARAMETERS


def policy_for(project: Project) -> TrainingPolicy:
    """The project's policy, created with the defaults the first time it is asked for."""
    policy, _ = TrainingPolicy.objects.get_or_create(project=project)
    return policy


@dataclass(frozen=True)
class JudgmentTally:
    """The project's judgments a cycle learns from now, and how many arrived since the
    last finished cycle (see judgment_tally)."""

    watermark: int  # highest id among those judgments
    total: int
    new: int


def last_watermark(project: Project) -> int:
    """The judgment watermark of the project's latest finished cycle (0 before the first).

    A failed cycle counts too: it is not retried on the schedule until N more judgments
    arrive (its cause is usually a setting or the data; an admin starts one by hand after
    fixing it).
    """
    finished = (
        TrainingRun.objects.filter(project=project)
        .exclude(status__in=TrainingRun.LIVE)
        .order_by("-judgment_watermark")
        .values_list("judgment_watermark", flat=True)
        .first()
    )
    return finished or 0


def judgment_tally(project: Project) -> JudgmentTally:
    """Counts the judgments a cycle would learn from; reads only.

    A cycle trains on its export (training/services/steps.py, EXPORT_PARAMETERS), and
    the export keeps only judgments that count (annotation/quality/counted.py: no
    calibration judgments, none of excluded annotators, none of repeat items) and, as
    the cycle asks, leaves gold pairs out. So "N new judgments" means N new judgments
    that the next export would keep: those are counted here, with gold ones aside
    exactly when the cycle's export leaves them out.

    The watermark is the highest id among those same judgments, so `total`, `new` and
    the watermark a run records all describe one set. A judgment that does not count
    never moves the watermark: if it comes to count later (its annotator is included
    again), it is new when its id is above the last run's watermark, and otherwise
    taken as seen by that run. A judgment that stops counting (its annotator is
    excluded) is simply no longer counted.
    """
    include_gold = not EXPORT_PARAMETERS["exclude_gold"]
    judgments = counted_judgments(project, include_gold=include_gold)
    totals = judgments.aggregate(count=Count("id"), last=Max("id"))
    since = last_watermark(project)
    new = judgments.filter(pk__gt=since).count() if since else totals["count"] or 0
    return JudgmentTally(watermark=totals["last"] or 0, total=totals["count"] or 0, new=new)


def due_projects() -> list[Project]:
    """Projects whose policy is enabled and that have at least `min_new_judgments` new
    judgments and no live run."""
    due = []
    policies = TrainingPolicy.objects.filter(enabled=True).select_related("project")
    for policy in policies.order_by("project_id"):
        project = policy.project
        if TrainingRun.objects.filter(project=project, status__in=TrainingRun.LIVE).exists():
            continue
        if judgment_tally(project).new >= max(policy.min_new_judgments, 1):
            due.append(project)
    return due
