"""Judgments made the way an annotator makes them: a lease from
annotation.judging.assignment.next_assignment, then
annotation.judging.submission.submit_judgment."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from annotation.judging.assignment import next_assignment
from annotation.judging.submission import submit_judgment
from annotation.models import Assignment, Judgment, Project, Task, User
from tests.factories.batches import image_ids
from tests.factories.users import member_of


def judge(
    task: Task,
    annotator: User,
    ranking: Sequence[int],
    *,
    duration_ms: int | None = 1500,
    flags: Sequence[str] = (),
    shown: Sequence[int] | None = None,
    levels: Sequence[int] = (),
    reasons: Sequence[str] = (),
    note: str = "",
) -> Judgment:
    """Lease the annotator's next task, which must be `task`, and submit `ranking` (image
    ids best to worst) for it.

    next_assignment serves the open task with the most judgments first, then the lowest
    id: judge tasks in that order (one task at a time, by each of its annotators, with
    earlier tasks full). `shown` fixes the display order, which the lease otherwise
    shuffles at random: position-bias tests need to know which image was shown first.
    """
    project = Project.objects.get(pk=task.project_id)
    member_of(project, annotator)
    lease = next_assignment(project, annotator)
    if lease is None or lease.assignment.task_id != task.pk:
        served = None if lease is None else f"task {lease.assignment.task_id}"
        raise AssertionError(
            f"next_assignment gave {annotator.username} {served or 'nothing'}, not task "
            f"{task.pk}: judge tasks in the order the service serves them (fullest first, "
            "then by id), with enough judgments wanted per task for every annotator"
        )
    assignment = lease.assignment
    if shown is not None:
        if sorted(shown) != sorted(assignment.display_order):
            raise AssertionError(f"shown={list(shown)} is not an order of task {task.pk}'s images")
        Assignment.objects.filter(pk=assignment.pk).update(display_order=list(shown))
    return submit_judgment(
        assignment.pk,
        annotator,
        ranking=list(ranking),
        duration_ms=duration_ms,
        flags=list(flags),
        idempotency_key=str(uuid.uuid4()),
        levels=list(levels),
        reasons=list(reasons),
        note=note,
    ).judgment


def judge_all(
    project: Project, annotator: User, rank: Callable[[Task], list[int]]
) -> list[Judgment]:
    """Judge every task next_assignment serves the annotator, ranking each with `rank`,
    until it serves none."""
    member_of(project, annotator)
    judgments = []
    while (lease := next_assignment(project, annotator)) is not None:
        task = Task.objects.get(pk=lease.assignment.task_id)
        judgments.append(
            submit_judgment(
                lease.assignment.pk,
                annotator,
                ranking=rank(task),
                duration_ms=1500,
                flags=[],
                idempotency_key=str(uuid.uuid4()),
            ).judgment
        )
    return judgments


def write_calibration_judgment(task: Task, annotator: User, ranking: Sequence[int]) -> Judgment:
    """A calibration judgment of an ordinary (non-gold) task, written as rows.

    It bypasses the services on purpose: they only make calibration judgments of gold
    tasks, in the calibration round, so they cannot put one where it would otherwise
    count; the tests that use this show that statistics and exports leave calibration
    judgments out wherever they sit. Like a submitted calibration judgment it has no
    pair rows and does not count towards the task's judgments_done.
    """
    judgment = Judgment.objects.create(
        task=task,
        annotator=annotator,
        ranking=list(ranking),
        display_order=image_ids(task),
        duration_ms=1500,
        guideline_version=task.project.guideline_version,
        is_calibration=True,
    )
    return judgment
