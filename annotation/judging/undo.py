"""Undo: an annotator takes their last judgment back and is shown its task again.

The judgment is not deleted: it is marked `retracted_at` and an AuditEvent records it,
so the trail keeps both it and the replacement (whose submit records the replacement:
annotation/judging/submission.py). From the moment it is retracted it counts nowhere
(annotation/quality/counted.py: agreement, export, leaderboard, pay figures' counted
share) and its pair rows are gone; the task's count and the stopping rule follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from annotation.judging.assignment import Lease, live_lease
from annotation.judging.submission import (
    SubmissionConflict,
    SubmissionError,
    SubmitterExcluded,
    lock_submitter_standing,
    locked_own_assignment,
    settle_task,
)
from annotation.models import (
    AssignmentStatus,
    AuditAction,
    ExportSnapshot,
    Judgment,
    PairJudgment,
    Project,
    Task,
    User,
    record_event,
)


class NothingToUndo(SubmissionError):
    status = 409


@dataclass(frozen=True)
class Undone:
    """The judgment taken back and the lease of its task, leased again to its annotator."""

    judgment: Judgment
    lease: Lease


def _last_judgment(project: Project, annotator: User) -> Judgment | None:
    """The annotator's newest judgment in the project made through an assignment."""
    return (
        Judgment.objects.filter(
            task__project=project, annotator=annotator, assignment__isnull=False
        )
        .order_by("-created_at", "-id")
        .first()
    )


def undo_last_judgment(project: Project, annotator: User) -> Undone:
    """Take back the annotator's last judgment in `project` and lease its task to them
    again, for the project's lease time.

    Locks as a submit does, in the same order: the annotator's ProjectAnnotator row,
    then the assignment and its task; the last judgment is read again once the first
    lock is held (a submit of the same annotator committed a moment earlier is seen).
    In one transaction: the judgment marked retracted, its pair rows deleted, the
    task's `judgments_done` - 1 and its `judgments_wanted` set again by the stopping
    rule (`settle_task`), the assignment leased again (its slot is the one the
    judgment held, so no task is ever over-served), and a JUDGMENT_RETRACTED event.

    Only the annotator's own last judgment, and only once: a judgment already undone,
    a calibration judgment, one whose task is out of circulation or one that an export
    snapshot may hold (a snapshot of the project started after it was made) raise
    NothingToUndo or SubmissionConflict; an excluded annotator raises
    SubmitterExcluded. On any error nothing is written.
    """
    candidate = _last_judgment(project, annotator)
    if candidate is None or candidate.assignment_id is None:
        raise NothingToUndo(
            f"You have no judgment in project {project.slug!r} to undo; undo takes back "
            "your last judgment only."
        )
    with transaction.atomic():
        exclusion = lock_submitter_standing(candidate.assignment_id, annotator)
        judgment = _last_judgment(project, annotator)
        if judgment is None or judgment.pk != candidate.pk:
            raise SubmissionConflict(
                "Your last judgment changed while undoing (another tab submitted); press "
                "Undo again to take back the newest one."
            )
        if exclusion is not None:
            raise SubmitterExcluded(
                f"You are excluded from annotating project {project.slug!r}; nothing was undone."
            )
        if judgment.retracted_at is not None:
            raise NothingToUndo(
                "Your last judgment was already undone; judge its task again (it is back "
                "on your screen), or ask for the next task."
            )
        if judgment.is_calibration:
            raise NothingToUndo(
                "A calibration judgment cannot be undone: its feedback was already shown."
            )
        assert judgment.assignment_id is not None
        assignment = locked_own_assignment(judgment.assignment_id, annotator)
        task = assignment.task
        if not task.is_active:
            raise SubmissionConflict(
                "The task of your last judgment was taken out of circulation; it cannot be "
                "judged again, so the judgment stays."
            )
        exported = (
            ExportSnapshot.objects.filter(
                project=project,
                started_at__gte=judgment.created_at,
                status__in=[ExportSnapshot.Status.RUNNING, ExportSnapshot.Status.DONE],
            )
            .values_list("pk", flat=True)
            .first()
        )
        if exported is not None:
            raise SubmissionConflict(
                f"Your last judgment may already be in export snapshot {exported}; an "
                "exported judgment cannot be undone. Ask a manager if it was a mistake."
            )
        now = timezone.now()
        Judgment.objects.filter(pk=judgment.pk).update(retracted_at=now)
        judgment.retracted_at = now
        PairJudgment.objects.filter(judgment_id=judgment.pk).delete()
        Task.objects.filter(pk=task.pk).update(judgments_done=F("judgments_done") - 1)
        assignment.status = AssignmentStatus.LEASED
        assignment.expires_at = now + timedelta(seconds=task.project.lease_seconds)
        assignment.finished_at = None
        assignment.save(update_fields=["status", "expires_at", "finished_at"])
        settle_task(task, now)
        record_event(
            AuditAction.JUDGMENT_RETRACTED,
            actor=annotator,
            project=project,
            target=f"task {task.pk}",
            before={
                "judgment": judgment.pk,
                "ranking": list(judgment.ranking),
                "levels": list(judgment.levels),
                "reasons": list(judgment.reasons),
                "note": judgment.note,
                "created_at": judgment.created_at.isoformat(),
            },
            after={"assignment": assignment.pk, "expires_at": assignment.expires_at.isoformat()},
        )
        lease = live_lease(assignment.pk, annotator)
    assert lease is not None  # leased again just now, in this transaction
    return Undone(judgment=judgment, lease=lease)
