"""An annotator's own figures: what they judged today and in total, and what is left for
them, per project (the annotation page and the home page show these to them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from annotation.models import Assignment, Batch, Judgment, Project, Task, User


@dataclass(frozen=True)
class AnnotatorProgress:
    judged_today: int  # since midnight in the site's time zone (TIME_ZONE)
    judged_total: int
    left: int  # tasks of the project that could still be served to them (at most)


def start_of_today() -> datetime:
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def tasks_left_for(annotator: User) -> dict[int, int]:
    """Per project id, the tasks that could still be served to `annotator`: active tasks
    of ready batches with a slot open, that they never held or judged (repeat items
    only their own). At most: a slot may be taken by someone else's lease meanwhile.
    Projects with nothing left are absent."""
    theirs = Assignment.objects.filter(task=OuterRef("pk"), annotator=annotator)
    rows = (
        Task.objects.filter(
            is_active=True,
            batch__status=Batch.Status.READY,
            judgments_done__lt=F("judgments_wanted"),
        )
        .filter(Q(repeat_for__isnull=True) | Q(repeat_for=annotator))
        .exclude(Exists(theirs))
        .values("project_id")
        .annotate(n=Count("id"))
    )
    return {row["project_id"]: row["n"] for row in rows}


def judged_by(annotator: User) -> dict[int, int]:
    """Per project id, the annotator's judgments (calibration and undone ones not counted)."""
    rows = (
        Judgment.objects.filter(annotator=annotator, is_calibration=False, retracted_at=None)
        .values("task__project_id")
        .annotate(n=Count("id"))
    )
    return {row["task__project_id"]: row["n"] for row in rows}


def annotator_progress(project: Project, annotator: User) -> AnnotatorProgress:
    """The annotator's figures in `project` (calibration and undone judgments not counted)."""
    mine = Judgment.objects.filter(
        annotator=annotator, task__project=project, is_calibration=False, retracted_at=None
    ).aggregate(total=Count("id"), today=Count("id", filter=Q(created_at__gte=start_of_today())))
    return AnnotatorProgress(
        judged_today=mine["today"],
        judged_total=mine["total"],
        left=tasks_left_for(annotator).get(project.pk, 0),
    )
