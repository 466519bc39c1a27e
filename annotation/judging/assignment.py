"""Choosing the next task for an annotator: fair, concurrent, never twice.

The slot rule: a task is handed out only while its submitted judgments plus its live
leases are fewer than `judgments_wanted` (for a task collecting adaptively, what the
stopping rule last set it to: annotation/judging/submission.py, `settle_task`). Two
annotators asking at once never take the same slot, and neither waits for the other:

1. the annotator's ProjectAnnotator row is upserted and locked (one statement), so one
   annotator's concurrent requests run one after another and share a single live lease
   (their leases are read by the next statement, whose snapshot follows the lock);
2. a candidate task is picked with `FOR UPDATE OF task SKIP LOCKED`: a task another
   request is leasing right now is skipped, not waited for;
3. holding that task's row lock, the lease is inserted by a statement that counts the
   task's live leases afresh (READ COMMITTED gives each statement a new snapshot) and
   inserts nothing when the task is full. Every lease of a task is inserted under that
   same row lock, so this count sees all of them: the candidate query's own snapshot
   may predate a lease committed a moment ago, the insert's cannot. A task found full
   is passed over and the next candidate tried.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from annotation.judging.serving import ORDER_KEYS
from annotation.models import (
    AnnotatorPrompt,
    Assignment,
    AssignmentStatus,
    Batch,
    Capability,
    Project,
    ProjectAnnotator,
    ServingOrder,
    User,
    capabilities,
)
from core.prepared import execute_prepared, insert_columns, insert_params

# A task that fills between the candidate query and its recount is passed over; after
# this many such races in one request we answer "nothing left" rather than loop on.
MAX_CANDIDATES = 20
# Pauses before looking again when every open task is locked by another request (the
# locks last a few milliseconds: the time to insert one lease).
BUSY_WAITS_S = (0.005, 0.01, 0.02, 0.05, 0.1)

# The prompt and the images (upload order) come with the candidate: no second look-up.
# The prompt is the raw text unless the project shows annotators the cleaned text
# (Project.annotator_prompt) and the prompt has one.
_TASK_CONTENT = f"""
  CASE WHEN p.cleaned_text <> '' AND EXISTS (
         SELECT 1 FROM annotation_project pr
         WHERE pr.id = p.project_id AND pr.annotator_prompt = '{AnnotatorPrompt.CLEANED}')
       THEN p.cleaned_text ELSE p.raw_text END,
  ARRAY(SELECT ti.image_id FROM annotation_taskimage ti
        WHERE ti.task_id = t.id ORDER BY ti.position),
  ARRAY(SELECT i.file FROM annotation_taskimage ti JOIN annotation_image i ON i.id = ti.image_id
        WHERE ti.task_id = t.id ORDER BY ti.position)
"""

# Clauses shared by the task and calibration queries: the same rule in one place each.
_SELECT_TASK = (
    "SELECT t.id, t.judgments_wanted,"
    + _TASK_CONTENT
    + """
FROM annotation_task t
JOIN annotation_batch b ON b.id = t.batch_id
JOIN annotation_prompt p ON p.id = t.prompt_id
WHERE t.project_id = %(project)s
  AND t.is_active
  AND b.status = %(ready)s
  AND NOT EXISTS (
        SELECT 1 FROM annotation_assignment mine
        WHERE mine.task_id = t.id AND mine.annotator_id = %(user)s)
"""
)


def _taken_slots(at: str) -> str:
    """SQL: task t's submitted judgments plus its leases still live at parameter `at`."""
    return f"""t.judgments_done + (
        SELECT count(*) FROM annotation_assignment a
        WHERE a.task_id = t.id AND a.status = 'leased' AND a.expires_at > %({at})s)"""


_CANDIDATE_WHERE = (
    _SELECT_TASK
    + f"""  AND t.is_gold = %(gold)s
  AND t.judgments_done < t.judgments_wanted
  AND (t.repeat_for_id IS NULL OR t.repeat_for_id = %(user)s)
  AND (t.repeat_of_id IS NULL OR EXISTS (
        SELECT 1 FROM annotation_judgment j
        WHERE j.task_id = t.repeat_of_id AND j.annotator_id = %(user)s))
  AND {_taken_slots("now")} < t.judgments_wanted
  AND NOT (t.id = ANY(%(passed)s::bigint[]))
"""
)
# One candidate query per serving order (annotation/judging/serving.py): started tasks
# first, then the order's key; each is read from its own partial index.
CANDIDATE_SQL = {
    order: _CANDIDATE_WHERE + f"ORDER BY t.judgments_done DESC, {key}\nLIMIT 1\n"
    for order, key in ORDER_KEYS.items()
}
_SKIP_LOCKED = " FOR UPDATE OF t SKIP LOCKED"

# Inserted only if the slots, counted afresh by this statement while the task row lock is
# held, still have room; no row back means the task filled meanwhile. The task's
# judgments_wanted is read here too: a submit may have lowered it (adaptive redundancy,
# submission.settle_task) just before the lock was granted.
_ASSIGNMENT_COLUMNS, _ASSIGNMENT_VALUES = insert_columns(Assignment)
_LEASE_IF_ROOM_SQL = f"""
INSERT INTO annotation_assignment ({_ASSIGNMENT_COLUMNS})
SELECT {_ASSIGNMENT_VALUES}
WHERE %(is_calibration)s::boolean OR (
    SELECT {_taken_slots("leased_at")} < t.judgments_wanted
    FROM annotation_task t WHERE t.id = %(task_id)s)
RETURNING id
"""

# Calibration uses gold tasks without taking a slot: calibration judgments do not count.
_CALIBRATION_SQL = (
    _SELECT_TASK
    + """  AND t.is_gold AND t.gold_ranking IS NOT NULL
  AND t.repeat_of_id IS NULL AND t.repeat_for_id IS NULL
ORDER BY t.id
LIMIT 1
"""
)

_STANDING_COLUMNS, _STANDING_VALUES = insert_columns(ProjectAnnotator)
_STANDING_SQL = f"""
INSERT INTO annotation_projectannotator ({_STANDING_COLUMNS})
VALUES ({_STANDING_VALUES})
ON CONFLICT (project_id, annotator_id) DO UPDATE SET project_id = EXCLUDED.project_id
RETURNING calibrated_at, is_excluded, excluded_reason
"""

# A separate statement on purpose: only a snapshot taken after the standing row lock was
# granted sees the lease that a concurrent request of the same annotator just committed.
# The annotator's leases still marked leased (newest deadline first), and for each whether
# it is past its deadline.
_LEASES_SQL = """
SELECT
  EXISTS (SELECT 1 FROM annotation_task g
          WHERE g.project_id = %(project)s AND g.is_gold AND g.gold_ranking IS NOT NULL),
  ARRAY(SELECT a.id FROM annotation_assignment a
        JOIN annotation_task t ON t.id = a.task_id
        WHERE a.annotator_id = %(user)s AND a.status = 'leased' AND t.project_id = %(project)s
        ORDER BY a.expires_at DESC),
  ARRAY(SELECT a.expires_at <= %(now)s FROM annotation_assignment a
        JOIN annotation_task t ON t.id = a.task_id
        WHERE a.annotator_id = %(user)s AND a.status = 'leased' AND t.project_id = %(project)s
        ORDER BY a.expires_at DESC)
"""

# An annotator holds at most this many live leases per project: the task on screen and
# the next one, leased ahead so that the page can show it the moment the first is judged.
MAX_HELD_LEASES = 2

_LIVE_LEASE_SQL = (
    "SELECT a.id, a.task_id, a.display_order, a.status, a.leased_at, a.expires_at,"
    " a.is_calibration, a.finished_at,"
    + _TASK_CONTENT
    + """
FROM annotation_assignment a
JOIN annotation_task t ON t.id = a.task_id
JOIN annotation_prompt p ON p.id = t.prompt_id
WHERE a.id = ANY(%(ids)s::bigint[]) AND a.expires_at > %(now)s
ORDER BY a.expires_at DESC
LIMIT 1
"""
)

CALIBRATION_FAILED = "calibration_failed"


class CalibrationFailed(Exception):
    """The annotator did not pass calibration and no unseen gold task is left to retry."""


class NotAMember(Exception):
    """The project is closed and the annotator is not one of its members."""


class AnnotatorExcluded(Exception):
    """An admin excluded the annotator from the project: no more tasks for them there."""


@dataclass(frozen=True)
class LeaseImage:
    id: int
    url: str


@dataclass(frozen=True)
class Lease:
    """A live assignment with what the annotator is shown: the prompt and the images
    in display order."""

    assignment: Assignment
    prompt: str
    images: list[LeaseImage]


@dataclass(frozen=True)
class Standing:
    """What next_assignment reads with the annotator's ProjectAnnotator row lock."""

    calibrated_at: datetime | None
    project_has_gold: bool
    live_ids: list[int]  # live leases in this project, newest deadline first
    expired_ids: list[int]  # leases past their deadline still marked leased


@dataclass(frozen=True)
class TaskContent:
    """A task as a lease shows it: its id, slots, prompt and images (upload order)."""

    id: int
    judgments_wanted: int
    prompt: str
    image_ids: list[int]
    files: list[str]


def may_hold_another_lease(held: int) -> bool:
    """Whether an annotator holding `held` live leases in a project may lease one more."""
    return held < MAX_HELD_LEASES


def next_assignment(
    project: Project, annotator: User, *, ahead_of: int | None = None
) -> Lease | None:
    """The annotator's live lease in `project`, or a new one; None when nothing is left.

    With `ahead_of` (the assignment on the annotator's screen): the lease to show after
    it, a live lease other than that one, or a new one while `may_hold_another_lease`
    (at most MAX_HELD_LEASES live leases per annotator per project). Nothing is leased
    ahead while calibration is due (each calibration task's feedback comes before the
    next). A lease leased ahead and never shown expires like any other: its slot is free
    again at its deadline, since only live leases take slots.

    Locks: the annotator's ProjectAnnotator row (created if missing) for the whole
    transaction, and the chosen task's row (FOR UPDATE SKIP LOCKED) while the lease is
    inserted. Guarantees: without `ahead_of`, the annotator's newest live lease when
    they hold one (asking again returns the same one), a new lease only when they hold
    none; at most MAX_HELD_LEASES live leases per annotator per project; a task is never
    leased to an annotator who judged or held it before; submitted + live leases never
    exceed a task's `judgments_wanted` (the insert itself recounts them under the task
    lock); only active tasks of `ready` batches are served, repeat items only to their
    annotator and only after the original was judged; started tasks come before fresh
    ones, and among tasks as far along the project's serving order decides
    (annotation/judging/serving.py); gold tasks are drawn at the project's gold rate;
    a new annotator is first served the calibration round (see `calibration_due`). The
    display order is shuffled and stored on the assignment. The annotator's expired
    leases are marked expired on the way.

    Raises NotAMember unless the annotator may annotate in the project (a member, or
    anyone when the project is open to all annotators: annotation.models.membership),
    CalibrationFailed when the annotator failed calibration and no gold task is
    left to try again, and AnnotatorExcluded when an admin excluded them from the
    project (their judgments would not count, so they would only use up slots).
    """
    if Capability.ANNOTATE not in capabilities(annotator, project):
        raise NotAMember(f"No project {project.slug!r}.")
    now = timezone.now()
    with transaction.atomic():
        standing = _lock_standing(project, annotator, now)
        if standing.expired_ids:
            Assignment.objects.filter(
                pk__in=standing.expired_ids, status=AssignmentStatus.LEASED
            ).update(status=AssignmentStatus.EXPIRED, finished_at=now)
        others = [pk for pk in standing.live_ids if pk != ahead_of]
        if others:
            live = _live_lease(others, annotator, now)
            if live is not None:
                return live
        if ahead_of is not None and (
            not may_hold_another_lease(len(standing.live_ids)) or calibration_due(project, standing)
        ):
            return None
        if calibration_due(project, standing):
            task = _calibration_task(project, annotator)
            if task is not None:
                return _lease(project, annotator, task, now, is_calibration=True)
            raise CalibrationFailed(
                "You have not passed the calibration round and no calibration task is left "
                "to retry; an admin must review your calibration judgments."
            )
        wants_gold = project.gold_rate > 0 and random.random() < project.gold_rate
        for gold in (True, False) if wants_gold else (False,):
            lease = _claim_and_lease(project, annotator, now, gold=gold)
            if lease is not None:
                return lease
    return None


def calibration_due(project: Project, standing: Standing) -> bool:
    """Whether the annotator must judge calibration tasks before anything else.

    Not when calibration is disabled (calibration_tasks = 0), already passed, or the
    project has no gold task with a gold ranking (calibration is then skipped).
    """
    return (
        project.calibration_tasks > 0
        and standing.calibrated_at is None
        and standing.project_has_gold
    )


def _lock_standing(project: Project, annotator: User, now: datetime) -> Standing:
    params: dict[str, Any] = {"project": project.pk, "user": annotator.pk}
    new_standing = ProjectAnnotator(project_id=project.pk, annotator_id=annotator.pk)
    with connection.cursor() as cursor:
        execute_prepared(cursor, "hpd_standing", _STANDING_SQL, insert_params(new_standing))
        calibrated_at, is_excluded, reason = cursor.fetchone()
        if is_excluded:
            raise AnnotatorExcluded(
                f"You are excluded from annotating project {project.slug!r}"
                + (f" ({reason})" if reason else "")
                + "; ask an admin if you think this is a mistake."
            )
        execute_prepared(cursor, "hpd_leases", _LEASES_SQL, {**params, "now": now})
        has_gold, leased, past_deadline = cursor.fetchone()
    return Standing(
        calibrated_at=calibrated_at,
        project_has_gold=has_gold,
        live_ids=[pk for pk, past in zip(leased, past_deadline, strict=True) if not past],
        expired_ids=[pk for pk, past in zip(leased, past_deadline, strict=True) if past],
    )


def _live_lease(live_ids: list[int], annotator: User, now: datetime) -> Lease | None:
    """The live lease with the latest deadline among `live_ids`."""
    with connection.cursor() as cursor:
        cursor.execute(_LIVE_LEASE_SQL, {"ids": live_ids, "now": now})
        row = cursor.fetchone()
    if row is None:
        return None
    assignment = Assignment(
        pk=row[0],
        task_id=row[1],
        annotator=annotator,
        display_order=row[2],
        status=row[3],
        leased_at=row[4],
        expires_at=row[5],
        is_calibration=row[6],
        finished_at=row[7],
    )
    content = TaskContent(row[1], 0, row[8], row[9], row[10])
    return describe(assignment, content)


def live_lease(assignment_id: int, annotator: User) -> Lease | None:
    """The annotator's assignment `assignment_id` as a Lease while it is live, else None."""
    return _live_lease([assignment_id], annotator, timezone.now())


def describe(assignment: Assignment, content: TaskContent) -> Lease:
    """The Lease of `assignment`: its prompt and images in its display order."""
    files = dict(zip(content.image_ids, content.files, strict=True))
    return Lease(
        assignment=assignment,
        prompt=content.prompt,
        images=[
            LeaseImage(image_id, f"{settings.MEDIA_URL}{files[image_id]}")
            for image_id in assignment.display_order
        ],
    )


def _claim_and_lease(
    project: Project, annotator: User, now: datetime, *, gold: bool
) -> Lease | None:
    """Lock an open task with a free slot and lease it; its row lock is held until commit."""
    passed: list[int] = []
    params: dict[str, Any] = {
        "project": project.pk,
        "user": annotator.pk,
        "now": now,
        "gold": gold,
        "ready": Batch.Status.READY,
    }
    # Gold tasks keep upload order whatever the project's serving order.
    order = ServingOrder.FIFO if gold else project.serving_order
    candidate_sql = CANDIDATE_SQL[ServingOrder(order)]
    statement = f"hpd_candidate_{order.replace('-', '_')}"
    busy_waits = 0
    with connection.cursor() as cursor:
        for _ in range(MAX_CANDIDATES):
            execute_prepared(
                cursor, statement, candidate_sql + _SKIP_LOCKED, {**params, "passed": passed}
            )
            row = cursor.fetchone()
            if row is None:
                # Every open task may be locked by requests leasing it this instant: look
                # without locking, and if one exists, give those requests a moment rather
                # than answer "nothing left" while slots remain.
                cursor.execute(candidate_sql, {**params, "passed": passed})
                if cursor.fetchone() is None or busy_waits >= len(BUSY_WAITS_S):
                    return None
                time.sleep(BUSY_WAITS_S[busy_waits])
                busy_waits += 1
                continue
            task = TaskContent(*row)
            lease = _lease(project, annotator, task, now, is_calibration=False)
            if lease is not None:
                return lease
            passed.append(task.id)
    return None


def _calibration_task(project: Project, annotator: User) -> TaskContent | None:
    with connection.cursor() as cursor:
        cursor.execute(
            _CALIBRATION_SQL,
            {"project": project.pk, "user": annotator.pk, "ready": Batch.Status.READY},
        )
        row = cursor.fetchone()
    return None if row is None else TaskContent(*row)


def _lease(
    project: Project, annotator: User, task: TaskContent, now: datetime, *, is_calibration: bool
) -> Lease | None:
    """Insert the lease with a shuffled display order; None if the task has no room left."""
    order = list(task.image_ids)
    random.shuffle(order)
    assignment = Assignment(
        task_id=task.id,
        annotator=annotator,
        display_order=order,
        status=AssignmentStatus.LEASED,
        expires_at=now + timedelta(seconds=project.lease_seconds),
        is_calibration=is_calibration,
    )
    params = insert_params(assignment)
    assignment.leased_at = params["leased_at"]
    with connection.cursor() as cursor:
        execute_prepared(cursor, "hpd_lease", _LEASE_IF_ROOM_SQL, params)
        row = cursor.fetchone()
    if row is None:
        return None
    assignment.pk = row[0]
    return describe(assignment, task)


def expire_leases() -> int:
    """Mark every lease past its deadline expired; returns how many.

    Their slots are free already (only live leases count); this keeps the statuses true
    for annotators who never came back. A submit holding an assignment's row lock is
    waited for, and a lease it submitted no longer matches (PostgreSQL re-checks the
    condition on the new row version).
    """
    now = timezone.now()
    return Assignment.objects.filter(status=AssignmentStatus.LEASED, expires_at__lte=now).update(
        status=AssignmentStatus.EXPIRED, finished_at=now
    )
