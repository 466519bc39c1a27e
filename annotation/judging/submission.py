"""Storing an annotator's judgment exactly once, and skipping a task."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from annotation.judging.calibration import CalibrationFeedback, feedback_for, record_calibration
from annotation.judging.image_flags import record_image_flags
from annotation.judging.stopping import wants_more
from annotation.judging.ties import TieError, checked_levels, derived_pairs
from annotation.models import (
    Assignment,
    AssignmentStatus,
    AuditAction,
    Batch,
    Judgment,
    JudgmentFlag,
    Project,
    Task,
    User,
    record_event,
)
from core.prepared import execute_prepared, insert_columns, insert_params

IMAGE_FLAGS = {JudgmentFlag.BROKEN_IMAGE.value, JudgmentFlag.UNSAFE.value}
MAX_DURATION_MS = 24 * 3600 * 1000
# The longest free-text note stored with a judgment (Judgment.note).
MAX_NOTE_LENGTH = 500


class SubmissionError(Exception):
    """A submission or skip that cannot be accepted; `status` is the HTTP status to answer.

    Nothing was stored when it is raised.
    """

    status = 400


class InvalidSubmission(SubmissionError):
    status = 400


class NotYourAssignment(SubmissionError):
    status = 403


class AssignmentNotFound(SubmissionError):
    status = 404


class SubmissionConflict(SubmissionError):
    status = 409


class SubmitterExcluded(SubmissionError):
    status = 403


@dataclass(frozen=True)
class Submitted:
    """A stored judgment; `created` is False when the call replayed an earlier submit."""

    judgment: Judgment
    created: bool
    calibration: CalibrationFeedback | None


def submit_judgment(
    assignment_id: int,
    annotator: User,
    *,
    ranking: list[int],
    duration_ms: int | None,
    flags: list[str],
    flagged_images: list[int] | None = None,
    idempotency_key: str,
    levels: list[int] | None = None,
    reasons: list[str] | None = None,
    note: str = "",
) -> Submitted:
    """Store the annotator's ranking for their assignment, exactly once.

    `levels` ties images where the project allows ties (annotation/judging/ties.py);
    `reasons` are chips from the project's `reason_chips`, `note` a free text of at most
    MAX_NOTE_LENGTH characters; all three are stored with the judgment.

    Locks, in this order and for the whole transaction (the order next_assignment takes
    them in): the annotator's ProjectAnnotator row, the assignment row, the task row.
    Each check below reads rows as they are once those locks are granted, so a lease,
    an exclusion or a withdrawal committed a moment earlier is seen. In one
    transaction: the Judgment (ranking best to worst, display order, duration, flags,
    the project's guideline version, the key), its PairJudgment rows, the assignment
    marked submitted, the task's `judgments_done` + 1 (not for calibration judgments,
    which also get no pair rows), the task's `judgments_wanted` set by the stopping rule
    when the task collects adaptively (`settle_task`), image flags and any withdrawal
    they trigger, and calibration progress.

    A late submit (the lease expired) is stored when the task still has a free slot
    (its submitted judgments plus the others' live leases are fewer than wanted), so
    no work is lost and no task is ever judged more than `judgments_wanted` times; a
    late calibration judgment takes no slot and is stored.

    Guarantees: a second call with the same key or the same ranking and flags returns
    the stored judgment (created=False) and writes nothing; any other second call, a
    skipped lease, a late submit whose slot went to someone else, a task taken out of
    circulation, or a key already used for another assignment raises
    SubmissionConflict; an annotator excluded from the project raises
    SubmitterExcluded; another user's assignment raises NotYourAssignment; a ranking
    that is not a permutation of the task's images, unknown flags or flagged images not
    in the task, malformed levels or a tie the project does not allow, unknown reasons
    or a note too long raise InvalidSubmission. On any error nothing is written.

    The replacement of a judgment its annotator undid (annotation/judging/undo.py) is
    stored like any other, and the audit trail records which judgment it replaces.
    """
    flagged_images = list(flagged_images or [])
    try:
        with transaction.atomic():
            return _submit_locked(
                assignment_id,
                annotator,
                ranking=ranking,
                duration_ms=duration_ms,
                flags=flags,
                flagged_images=flagged_images,
                idempotency_key=idempotency_key,
                levels=list(levels or []),
                reasons=list(reasons or []),
                note=note,
            )
    except IntegrityError as exc:
        used = (
            Judgment.objects.filter(annotator=annotator, idempotency_key=idempotency_key)
            .exclude(assignment_id=assignment_id)
            .values_list("assignment_id", flat=True)
            .first()
        )
        if used is not None:
            raise SubmissionConflict(
                f"The Idempotency-Key {idempotency_key!r} was already used for assignment "
                f"{used}. Send a new key (a fresh UUID) for each assignment."
            ) from exc
        if Judgment.objects.filter(
            annotator=annotator, idempotency_key=idempotency_key, retracted_at__isnull=False
        ).exists():
            raise SubmissionConflict(
                f"The Idempotency-Key {idempotency_key!r} belongs to the judgment you undid; "
                "send a new key (a fresh UUID) with its replacement."
            ) from exc
        raise SubmissionConflict(
            "This task already has a judgment of yours; it was not stored twice."
        ) from exc


def _submit_locked(
    assignment_id: int,
    annotator: User,
    *,
    ranking: list[int],
    duration_ms: int | None,
    flags: list[str],
    flagged_images: list[int],
    idempotency_key: str,
    levels: list[int],
    reasons: list[str],
    note: str,
) -> Submitted:
    exclusion = lock_submitter_standing(assignment_id, annotator)
    assignment = locked_own_assignment(assignment_id, annotator)
    task = assignment.task
    if assignment.status == AssignmentStatus.SUBMITTED:
        return _replay(assignment, ranking, flags, idempotency_key)
    if assignment.status == AssignmentStatus.SKIPPED:
        raise SubmissionConflict(
            f"You skipped assignment {assignment.pk}; a skipped task cannot be judged. "
            "Ask for the next task."
        )
    if exclusion is not None:
        raise SubmitterExcluded(
            f"You are excluded from annotating project {task.project.slug!r}"
            + (f" ({exclusion})" if exclusion else "")
            + "; your judgment was not stored. Ask an admin if you think this is a mistake."
        )
    if not task.is_active:
        raise SubmissionConflict(
            f"The task of assignment {assignment.pk} was taken out of circulation (its "
            "prompt is held for review or one of its images was withdrawn) while you "
            "judged it; your judgment was not stored. Ask for the next task."
        )
    now = timezone.now()
    late = assignment.status == AssignmentStatus.EXPIRED or assignment.expires_at <= now
    if late and not assignment.is_calibration and not _slot_free(assignment, now):
        raise SubmissionConflict(
            f"Your lease on assignment {assignment.pk} expired at "
            f"{assignment.expires_at.isoformat()} and the task went to someone else; "
            "your judgment was not stored. Ask for the next task."
        )
    _check_ranking(ranking, assignment.display_order)
    levels = _check_levels(ranking, levels, task.project, assignment.is_calibration)
    _check_reasons(reasons, note, task.project)
    _check_flags(flags, flagged_images, assignment.display_order)
    if duration_ms is not None and not 0 <= duration_ms <= MAX_DURATION_MS:
        raise InvalidSubmission(
            f"duration_ms must be between 0 and {MAX_DURATION_MS} (milliseconds spent on "
            f"the task), got {duration_ms}."
        )

    judgment = Judgment(
        assignment=assignment,
        task=task,
        annotator=annotator,
        ranking=ranking,
        levels=levels,
        display_order=assignment.display_order,
        duration_ms=duration_ms,
        flags=flags,
        reasons=reasons,
        note=note,
        guideline_version=task.project.guideline_version,
        is_calibration=assignment.is_calibration,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    judgment.pk = _store(judgment, now)
    _record_replacement(judgment, assignment)
    if not assignment.is_calibration:
        settle_task(task, now)
    if flagged_images:
        record_image_flags(task.project, annotator, assignment, flags, flagged_images)
    feedback = record_calibration(judgment) if assignment.is_calibration else None
    return Submitted(judgment=judgment, created=True, calibration=feedback)


# One round trip for the whole write: the judgment, its pairs, the task's count and the
# assignment's status (data-modifying CTEs all run, in one statement, one snapshot).
_JUDGMENT_COLUMNS, _JUDGMENT_VALUES = insert_columns(Judgment)
_STORE_SQL = f"""
WITH judgment AS (
    INSERT INTO annotation_judgment ({_JUDGMENT_COLUMNS})
    VALUES ({_JUDGMENT_VALUES})
    RETURNING id
), pairs AS (
    INSERT INTO annotation_pairjudgment
        (project_id, judgment_id, task_id, annotator_id, winner_id, loser_id, is_tie)
    SELECT %(project)s::bigint, judgment.id, %(task_id)s, %(annotator_id)s,
           pair.winner, pair.loser, pair.is_tie
    FROM judgment, unnest(%(winners)s::bigint[], %(losers)s::bigint[], %(ties)s::boolean[])
        AS pair(winner, loser, is_tie)
), counted AS (
    UPDATE annotation_task SET judgments_done = judgments_done + 1
    WHERE id = %(task_id)s AND NOT %(is_calibration)s
), finished AS (
    UPDATE annotation_assignment SET status = 'submitted', finished_at = %(created_at)s
    WHERE id = %(assignment_id)s
)
SELECT id FROM judgment
"""


def _store(judgment: Judgment, now: datetime) -> int:
    """Write the judgment, its pairs (none for calibration), the task's count (not for
    calibration) and the assignment's status; returns the judgment's id."""
    pairs = [] if judgment.is_calibration else derived_pairs(judgment.ranking, judgment.levels)
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "hpd_store_judgment",
            _STORE_SQL,
            {
                **insert_params(judgment),
                "project": judgment.task.project_id,
                "winners": [winner for winner, _, _ in pairs],
                "losers": [loser for _, loser, _ in pairs],
                "ties": [tie for _, _, tie in pairs],
            },
        )
        judgment_id: int = cursor.fetchone()[0]
    return judgment_id


# The judgments that decide whether an adaptive task is settled (those counted in
# judgments_done: not calibration, not undone), as one two-dimensional array (all of a
# task's rankings have its number of images) with their levels as text (empty where
# nothing ties), and the task's live leases besides.
_SETTLE_STATE_SQL = """
SELECT
  ARRAY(SELECT j.ranking FROM annotation_judgment j
        WHERE j.task_id = %(task)s::bigint AND NOT j.is_calibration
          AND j.retracted_at IS NULL ORDER BY j.id),
  ARRAY(SELECT array_to_string(j.levels, ',') FROM annotation_judgment j
        WHERE j.task_id = %(task)s::bigint AND NOT j.is_calibration
          AND j.retracted_at IS NULL ORDER BY j.id),
  (SELECT count(*) FROM annotation_assignment a
   WHERE a.task_id = %(task)s::bigint AND a.status = 'leased' AND a.expires_at > %(now)s)
"""


def settle_task(task: Task, now: datetime) -> None:
    """Apply the stopping rule to a task that collects adaptively, after a judgment of it
    was stored; run holding the task row lock (every lease of a task is inserted under
    that lock, so the live leases counted here are all of them).

    A task collects adaptively when it is neither gold nor a repeat item and its batch's
    maximum exceeds its minimum (`Batch.judgments_per_task`, `Batch.judgments_maximum`).
    It is imported wanting its minimum. Once it has that many judgments, its
    `judgments_wanted` becomes its judgments done plus its live leases, plus one while
    `wants_more` says its judgments are not confidently agreed (at the project's
    `consensus_threshold`), never above the maximum. So past the minimum a task asks
    for one judgment at a time, each decided on everything submitted before it, and a
    settled task has no slot for a new lease (the lease insert recounts under the task
    lock) while annotators already holding one may still submit. Evaluated again on
    every later submit: a judgment that breaks the consensus reopens the task.
    """
    batch = task.batch
    minimum, maximum = batch.judgments_per_task, batch.judgments_maximum
    if task.is_gold or task.repeat_of_id is not None or maximum <= minimum:
        return
    with connection.cursor() as cursor:
        execute_prepared(
            cursor, "hpd_settle_state", _SETTLE_STATE_SQL, {"task": task.pk, "now": now}
        )
        found, found_levels, live = cursor.fetchone()
    rankings = [[int(image) for image in ranking] for ranking in found or []]
    levels = [[int(v) for v in text.split(",")] if text else [] for text in found_levels or []]
    if len(rankings) < minimum:
        return
    more = wants_more(
        rankings,
        minimum=minimum,
        maximum=maximum,
        threshold=task.project.consensus_threshold,
        levels=levels,
    )
    wanted = min(maximum, len(rankings) + live + (1 if more else 0))
    Task.objects.filter(pk=task.pk).exclude(judgments_wanted=wanted).update(judgments_wanted=wanted)


def skip_assignment(
    assignment_id: int,
    annotator: User,
    *,
    flags: list[str] | None = None,
    flagged_images: list[int] | None = None,
) -> Assignment:
    """Give the task back: it goes to someone else, never again to this annotator.

    Locks the assignment row. Idempotent: skipping a skipped assignment changes nothing.
    An expired lease may be skipped too. Flags naming images (broken, unsafe) are
    recorded and may withdraw the images. Raises NotYourAssignment, AssignmentNotFound,
    SubmissionConflict (already submitted) or InvalidSubmission (bad flags).
    """
    flags = list(flags or [])
    flagged_images = list(flagged_images or [])
    with transaction.atomic():
        assignment = locked_own_assignment(assignment_id, annotator)
        if assignment.status == AssignmentStatus.SUBMITTED:
            raise SubmissionConflict(
                f"Assignment {assignment.pk} was already submitted; it cannot be skipped."
            )
        _check_flags(flags, flagged_images, assignment.display_order)
        if assignment.status != AssignmentStatus.SKIPPED:
            assignment.status = AssignmentStatus.SKIPPED
            assignment.finished_at = timezone.now()
            assignment.save(update_fields=["status", "finished_at"])
        if flagged_images:
            record_image_flags(
                assignment.task.project, annotator, assignment, flags, flagged_images
            )
    return assignment


def _columns(alias: str, model: type[Model]) -> tuple[list[str], str]:
    fields = [field.attname for field in model._meta.concrete_fields]
    columns = ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)
    return fields, columns


_ASSIGNMENT_FIELDS, _ASSIGNMENT_COLUMNS = _columns("a", Assignment)
_TASK_FIELDS, _TASK_COLUMNS = _columns("t", Task)
_PROJECT_FIELDS, _PROJECT_COLUMNS = _columns("p", Project)
_BATCH_FIELDS, _BATCH_COLUMNS = _columns("b", Batch)
# The annotator's standing in the assignment's project, locked first: next_assignment
# locks it before any assignment or task row, and so does a submit (one lock order, no
# deadlock between a submit and a next-task request in another tab).
_LOCK_STANDING_SQL = """
SELECT pa.is_excluded, pa.excluded_reason
FROM annotation_projectannotator pa
JOIN annotation_task t ON t.project_id = pa.project_id
JOIN annotation_assignment a ON a.task_id = t.id
WHERE a.id = %(assignment)s::bigint AND pa.annotator_id = %(annotator)s::bigint
FOR NO KEY UPDATE OF pa
"""
# The assignment and its task locked (the task as next_assignment's lease insert does,
# so a late submit's slot check and a new lease of the same task run one at a time),
# with the project read in the same statement.
_LOCK_ASSIGNMENT_SQL = f"""
SELECT {_ASSIGNMENT_COLUMNS}, {_TASK_COLUMNS}, {_PROJECT_COLUMNS}, {_BATCH_COLUMNS}
FROM annotation_assignment a
JOIN annotation_task t ON t.id = a.task_id
JOIN annotation_project p ON p.id = t.project_id
JOIN annotation_batch b ON b.id = t.batch_id
WHERE a.id = %(assignment)s::bigint
FOR NO KEY UPDATE OF a, t
"""
# A separate statement, run once the task row lock is held: its snapshot sees every
# lease committed before the lock was granted.
_SLOT_FREE_SQL = """
SELECT t.judgments_done + (
    SELECT count(*) FROM annotation_assignment a
    WHERE a.task_id = t.id AND a.id <> %(assignment)s::bigint
      AND a.status = 'leased' AND a.expires_at > %(now)s) < t.judgments_wanted
FROM annotation_task t WHERE t.id = %(task)s::bigint
"""


def lock_submitter_standing(assignment_id: int, annotator: User) -> str | None:
    """Lock the annotator's standing in the assignment's project; the exclusion reason
    ('' when none was given) if they are excluded, else None (also when no row exists)."""
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "hpd_submit_standing",
            _LOCK_STANDING_SQL,
            {"assignment": assignment_id, "annotator": annotator.pk},
        )
        row = cursor.fetchone()
    if row is None or not row[0]:
        return None
    return str(row[1] or "")


def _slot_free(assignment: Assignment, now: datetime) -> bool:
    """Whether the assignment's task still has room for one more judgment at `now`
    besides everyone else's live leases. Run under the task row lock."""
    with connection.cursor() as cursor:
        execute_prepared(
            cursor,
            "hpd_submit_slot_free",
            _SLOT_FREE_SQL,
            {"assignment": assignment.pk, "task": assignment.task_id, "now": now},
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def locked_own_assignment(assignment_id: int, annotator: User) -> Assignment:
    with connection.cursor() as cursor:
        execute_prepared(
            cursor, "hpd_lock_assignment", _LOCK_ASSIGNMENT_SQL, {"assignment": assignment_id}
        )
        row = cursor.fetchone()
    if row is None:
        raise AssignmentNotFound(f"There is no assignment {assignment_id}.")
    split_task = len(_ASSIGNMENT_FIELDS)
    split_project = split_task + len(_TASK_FIELDS)
    split_batch = split_project + len(_PROJECT_FIELDS)
    assignment = Assignment.from_db(connection.alias, _ASSIGNMENT_FIELDS, row[:split_task])
    task = Task.from_db(connection.alias, _TASK_FIELDS, row[split_task:split_project])
    task.project = Project.from_db(
        connection.alias, _PROJECT_FIELDS, row[split_project:split_batch]
    )
    task.batch = Batch.from_db(connection.alias, _BATCH_FIELDS, row[split_batch:])
    assignment.task = task
    if assignment.annotator_id != annotator.pk:
        raise NotYourAssignment(
            f"Assignment {assignment_id} belongs to another annotator; you can only submit "
            "or skip your own assignments."
        )
    return assignment


def _replay(
    assignment: Assignment, ranking: list[int], flags: list[str], idempotency_key: str
) -> Submitted:
    judgment = Judgment.objects.get(assignment=assignment, retracted_at__isnull=True)
    # The stored result is replayed for the same body, whatever the key: a client that
    # lost the response and retried with a fresh key must not be told it conflicts.
    same_body = list(judgment.ranking) == list(ranking) and sorted(judgment.flags) == sorted(flags)
    if not same_body:
        raise SubmissionConflict(
            f"Assignment {assignment.pk} was already submitted with ranking "
            f"{list(judgment.ranking)} and flags {list(judgment.flags)}; a different "
            "submission for it is refused. Ask for the next task."
        )
    feedback = feedback_for(judgment) if judgment.is_calibration else None
    return Submitted(judgment=judgment, created=False, calibration=feedback)


def _check_ranking(ranking: list[int], display_order: list[int]) -> None:
    if len(ranking) != len(set(ranking)) or set(ranking) != set(display_order):
        raise InvalidSubmission(
            f"ranking must list each of the task's {len(display_order)} images exactly once, "
            f"best to worst (image ids {sorted(display_order)}); got {ranking}."
        )


def _check_levels(
    ranking: list[int], levels: list[int], project: Project, is_calibration: bool
) -> list[int]:
    try:
        stored = checked_levels(ranking, levels, allowed=project.allow_ties)
    except TieError as exc:
        raise InvalidSubmission(str(exc)) from None
    if stored and is_calibration:
        raise InvalidSubmission(
            "a calibration task has one expected order: put every image on a level of its "
            "own (leave levels out)."
        )
    return stored


def _check_reasons(reasons: list[str], note: str, project: Project) -> None:
    offered = list(project.reason_chips)
    unknown = [reason for reason in reasons if reason not in offered]
    if unknown:
        choices = ", ".join(repr(chip) for chip in offered) if offered else "none: leave it out"
        raise InvalidSubmission(f"unknown reason(s) {unknown}; this project offers {choices}.")
    if len(set(reasons)) != len(reasons):
        raise InvalidSubmission(f"reasons must not repeat; got {reasons}.")
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidSubmission(
            f"note is {len(note)} characters long; shorten it to {MAX_NOTE_LENGTH} at most."
        )


def _record_replacement(judgment: Judgment, assignment: Assignment) -> None:
    """Name, in the audit trail, the undone judgment (if any) this one replaces."""
    undone = (
        Judgment.objects.filter(assignment_id=assignment.pk, retracted_at__isnull=False)
        .order_by("-retracted_at")
        .values("pk", "ranking", "levels")
        .first()
    )
    if undone is None:
        return
    record_event(
        AuditAction.JUDGMENT_REPLACED,
        actor=judgment.annotator,
        project=judgment.task.project,
        target=f"task {judgment.task_id}",
        before={"judgment": undone["pk"], "ranking": undone["ranking"], "levels": undone["levels"]},
        after={"judgment": judgment.pk, "ranking": judgment.ranking, "levels": judgment.levels},
    )


def _check_flags(flags: list[str], flagged_images: list[int], display_order: list[int]) -> None:
    unknown = [flag for flag in flags if flag not in JudgmentFlag.values]
    if unknown:
        raise InvalidSubmission(
            f"unknown flag(s) {unknown}; use any of {', '.join(JudgmentFlag.values)}."
        )
    if len(set(flags)) != len(flags):
        raise InvalidSubmission(f"flags must not repeat; got {flags}.")
    stray = [image for image in flagged_images if image not in display_order]
    if stray:
        raise InvalidSubmission(
            f"flagged_images {stray} are not images of this task (its images: "
            f"{sorted(display_order)})."
        )
    if flagged_images and not IMAGE_FLAGS & set(flags):
        raise InvalidSubmission(
            "flagged_images needs a flag saying what is wrong with them: add "
            "'broken_image' or 'unsafe' to flags."
        )
    if IMAGE_FLAGS & set(flags) and not flagged_images:
        raise InvalidSubmission(
            "a 'broken_image' or 'unsafe' flag must name the image(s): list their ids in "
            "flagged_images."
        )
