"""Per-project training policy and when a project is due for a cycle."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max

from annotation.models import Judgment, Project
from training.models import TrainingPolicy, TrainingRun


def policy_for(project: Project) -> TrainingPolicy:
    """The project's policy, created with the defaults the first time it is asked for."""
    policy, _ = TrainingPolicy.objects.get_or_create(project=project)
    return policy


@dataclass(frozen=True)
class JudgmentTally:
    """The project's judgments now, and how many arrived since the last finished cycle."""

    watermark: int  # highest judgment id
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
    """Counts the project's judgments (calibration judgments aside); reads only."""
    judgments = Judgment.objects.filter(task__project=project, is_calibration=False)
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
