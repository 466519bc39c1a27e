"""Choosing the next task for an annotator: fair, concurrent, never twice.

The slot rule: a task is handed out only while its submitted judgments plus its live
leases are fewer than `judgments_wanted`. Two annotators asking at once never take the
same slot, and neither waits for the other:

1. the annotator's ProjectAnnotator row is upserted and locked (one statement), so one
   annotator's concurrent requests run one after another and share a single live lease;
2. a candidate task is picked with `FOR UPDATE OF task SKIP LOCKED`: a task another
   request is leasing right now is skipped, not waited for;
3. holding that task's row lock, its live leases are counted again in a fresh statement
   (READ COMMITTED gives each statement a new snapshot). Every lease of a task is
   inserted under that same row lock, so the recount sees all of them: the candidate
   query's own snapshot may predate a lease committed a moment ago, the recount cannot.
   A task found full is passed over and the next candidate tried.
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

from annotation.models import (
    Assignment,
    AssignmentStatus,
    Batch,
    Project,
    Task,
    User,
)

# A task that fills between the candidate query and its recount is passed over; after
# this many such races in one request we answer "nothing left" rather than loop on.
MAX_CANDIDATES = 20
# Pauses before looking again when every open task is locked by another request (the
# locks last a few milliseconds: the time to insert one lease).
BUSY_WAITS_S = (0.005, 0.01, 0.02, 0.05, 0.1)

_CANDIDATE_SQL = """
SELECT t.id FROM annotation_task t
JOIN annotation_batch b ON b.id = t.batch_id
WHERE t.project_id = %(project)s
  AND t.is_gold = %(gold)s
  AND t.is_active
  AND t.judgments_done < t.judgments_wanted
  AND b.status = %(ready)s
  AND (t.repeat_for_id IS NULL OR t.repeat_for_id = %(user)s)
  AND (t.repeat_of_id IS NULL OR EXISTS (
        SELECT 1 FROM annotation_judgment j
        WHERE j.task_id = t.repeat_of_id AND j.annotator_id = %(user)s))
  AND NOT EXISTS (
        SELECT 1 FROM annotation_assignment mine
        WHERE mine.task_id = t.id AND mine.annotator_id = %(user)s)
  AND t.judgments_done + (
        SELECT count(*) FROM annotation_assignment a
        WHERE a.task_id = t.id AND a.status = 'leased' AND a.expires_at > %(now)s
      ) < t.judgments_wanted
  AND NOT (t.id = ANY(%(passed)s))
ORDER BY t.judgments_done DESC, t.id
LIMIT 1
"""
_SKIP_LOCKED = " FOR UPDATE OF t SKIP LOCKED"

_RECOUNT_SQL = """
SELECT t.judgments_done + (
    SELECT count(*) FROM annotation_assignment a
    WHERE a.task_id = t.id AND a.status = 'leased' AND a.expires_at > %(now)s),
  t.judgments_wanted
FROM annotation_task t WHERE t.id = %(task)s
"""

# Calibration uses gold tasks without taking a slot: calibration judgments do not count.
_CALIBRATION_SQL = """
SELECT t.id FROM annotation_task t
JOIN annotation_batch b ON b.id = t.batch_id
WHERE t.project_id = %(project)s
  AND t.is_gold AND t.gold_ranking IS NOT NULL
  AND t.is_active
  AND b.status = %(ready)s
  AND t.repeat_of_id IS NULL AND t.repeat_for_id IS NULL
  AND NOT EXISTS (
        SELECT 1 FROM annotation_assignment mine
        WHERE mine.task_id = t.id AND mine.annotator_id = %(user)s)
ORDER BY t.id
LIMIT 1
"""

_UPSERT_STANDING_SQL = """
INSERT INTO annotation_projectannotator
    (project_id, annotator_id, quality_flags, is_excluded, excluded_reason, created_at)
VALUES (%(project)s, %(user)s, '[]'::jsonb, false, '', %(now)s)
ON CONFLICT (project_id, annotator_id) DO UPDATE SET project_id = EXCLUDED.project_id
RETURNING id, calibrated_at, quality_flags
"""

_TASK_IMAGES_SQL = """
SELECT ti.image_id, i.file, p.raw_text
FROM annotation_taskimage ti
JOIN annotation_image i ON i.id = ti.image_id
JOIN annotation_task t ON t.id = ti.task_id
JOIN annotation_prompt p ON p.id = t.prompt_id
WHERE ti.task_id = %(task)s
ORDER BY ti.position
"""

CALIBRATION_FAILED = "calibration_failed"


class CalibrationFailed(Exception):
    """The annotator did not pass calibration and no unseen gold task is left to retry."""


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
    """What next_assignment needs to know of the annotator's ProjectAnnotator row."""

    id: int
    calibrated_at: datetime | None
    quality_flags: list[str]


def next_assignment(project: Project, annotator: User) -> Lease | None:
    """The annotator's live lease in `project`, or a new one; None when nothing is left.

    Locks: the annotator's ProjectAnnotator row (created if missing) for the whole
    transaction, and the chosen task's row (FOR UPDATE SKIP LOCKED) while its slots are
    recounted and the lease inserted. Guarantees: at most one live lease per annotator
    per project (asking again returns the same one); a task is never leased to an
    annotator who judged or held it before; submitted + live leases never exceed a
    task's `judgments_wanted`; only active tasks of `ready` batches are served, repeat
    items only to their annotator and only after the original was judged; started tasks
    come before fresh ones; gold tasks are drawn at the project's gold rate; a new
    annotator is first served the calibration round (see `calibration_due`). The display
    order is shuffled and stored on the assignment.

    Raises CalibrationFailed when the annotator failed calibration and no gold task is
    left to try again.
    """
    now = timezone.now()
    with transaction.atomic():
        standing = _lock_standing(project, annotator, now)
        live = _live_lease(project, annotator, now)
        if live is not None:
            return live
        if calibration_due(project, annotator, standing):
            task_id = _calibration_task(project, annotator)
            if task_id is not None:
                return _lease(project, annotator, task_id, now, is_calibration=True)
            raise CalibrationFailed(
                "You have not passed the calibration round and no calibration task is left "
                "to retry; an admin must review your calibration judgments."
            )
        wants_gold = project.gold_rate > 0 and random.random() < project.gold_rate
        for gold in (True, False) if wants_gold else (False,):
            task_id = _claim_task(project, annotator, now, gold=gold)
            if task_id is not None:
                return _lease(project, annotator, task_id, now, is_calibration=False)
    return None


def calibration_due(project: Project, annotator: User, standing: Standing) -> bool:
    """Whether the annotator must judge calibration tasks before anything else.

    Not when calibration is disabled (calibration_tasks = 0), already passed, or the
    project has no gold task with a gold ranking (calibration is then skipped).
    """
    if project.calibration_tasks == 0 or standing.calibrated_at is not None:
        return False
    return Task.objects.filter(project=project, is_gold=True, gold_ranking__isnull=False).exists()


def _lock_standing(project: Project, annotator: User, now: datetime) -> Standing:
    with connection.cursor() as cursor:
        cursor.execute(
            _UPSERT_STANDING_SQL, {"project": project.pk, "user": annotator.pk, "now": now}
        )
        row = cursor.fetchone()
    flags = row[2]
    if isinstance(flags, str):  # psycopg2 without a jsonb adapter registered
        import json

        flags = json.loads(flags)
    return Standing(id=row[0], calibrated_at=row[1], quality_flags=list(flags))


def _live_lease(project: Project, annotator: User, now: datetime) -> Lease | None:
    """The annotator's live lease in the project, if any; their expired ones are closed."""
    leases = list(
        Assignment.objects.filter(
            annotator=annotator, status=AssignmentStatus.LEASED, task__project=project
        ).order_by("-expires_at")
    )
    live = None
    expired = []
    for lease in leases:
        if lease.expires_at > now and live is None:
            live = lease
        else:
            expired.append(lease.pk)
    if expired:
        Assignment.objects.filter(pk__in=expired, status=AssignmentStatus.LEASED).update(
            status=AssignmentStatus.EXPIRED, finished_at=now
        )
    if live is None:
        return None
    return describe(live, _task_images(live.task_id))


def describe(assignment: Assignment, rows: list[tuple[int, str, str]]) -> Lease:
    """The Lease of `assignment`, from its task's (image id, file, prompt) rows."""
    files = {image_id: file for image_id, file, _ in rows}
    return Lease(
        assignment=assignment,
        prompt=rows[0][2] if rows else "",
        images=[
            LeaseImage(image_id, f"{settings.MEDIA_URL}{files[image_id]}")
            for image_id in assignment.display_order
        ],
    )


def _task_images(task_id: int) -> list[tuple[int, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(_TASK_IMAGES_SQL, {"task": task_id})
        return [(row[0], row[1], row[2]) for row in cursor.fetchall()]


def _claim_task(project: Project, annotator: User, now: datetime, *, gold: bool) -> int | None:
    """Lock an open task with a free slot; its row lock is held until the transaction ends."""
    passed: list[int] = []
    params: dict[str, Any] = {
        "project": project.pk,
        "user": annotator.pk,
        "now": now,
        "gold": gold,
        "ready": Batch.Status.READY,
    }
    busy_waits = 0
    with connection.cursor() as cursor:
        for _ in range(MAX_CANDIDATES):
            cursor.execute(_CANDIDATE_SQL + _SKIP_LOCKED, {**params, "passed": passed})
            row = cursor.fetchone()
            if row is None:
                # Every open task may be locked by requests leasing it this instant: look
                # without locking, and if one exists, give those requests a moment rather
                # than answer "nothing left" while slots remain.
                cursor.execute(_CANDIDATE_SQL, {**params, "passed": passed})
                if cursor.fetchone() is None or busy_waits >= len(BUSY_WAITS_S):
                    return None
                time.sleep(BUSY_WAITS_S[busy_waits])
                busy_waits += 1
                continue
            task_id: int = row[0]
            cursor.execute(_RECOUNT_SQL, {"task": task_id, "now": now})
            taken, wanted = cursor.fetchone()
            if taken < wanted:
                return task_id
            passed.append(task_id)
    return None


def _calibration_task(project: Project, annotator: User) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            _CALIBRATION_SQL,
            {"project": project.pk, "user": annotator.pk, "ready": Batch.Status.READY},
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _lease(
    project: Project, annotator: User, task_id: int, now: datetime, *, is_calibration: bool
) -> Lease:
    rows = _task_images(task_id)
    order = [row[0] for row in rows]
    random.shuffle(order)
    assignment = Assignment.objects.create(
        task_id=task_id,
        annotator=annotator,
        display_order=order,
        expires_at=now + timedelta(seconds=project.lease_seconds),
        is_calibration=is_calibration,
    )
    return describe(assignment, rows)
