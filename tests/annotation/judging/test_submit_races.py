"""Submits racing leases, exclusions, withdrawals and the annotator's other tab.

Real threads, each on its own PostgreSQL connection. A submit is paused at a known point
inside its transaction (after its checks, before its write) where a race needs it; a
second request is then run and, where it must wait for a lock, the test waits until
PostgreSQL shows it waiting before letting the first go on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from annotation.intake import prompt_review
from annotation.intake.prompt_review import hold_prompts
from annotation.judging import submission
from annotation.judging.assignment import Lease, next_assignment
from annotation.judging.submission import SubmissionConflict, SubmissionError, submit_judgment
from annotation.models import (
    Assignment,
    AssignmentStatus,
    Judgment,
    ProjectAnnotator,
    Role,
    Task,
    User,
)
from annotation.quality.annotator_quality import set_excluded
from tests.factories.tasks import make_project, make_tasks
from tests.factories.users import annotators, make_user

pytestmark = pytest.mark.django_db(transaction=True)

WAIT_S = 20


def submit(lease: Lease, user: User, key: str = "") -> Any:
    """submit_judgment for the lease with its display order; the outcome or the error."""
    try:
        return submit_judgment(
            lease.assignment.pk,
            user,
            ranking=list(lease.assignment.display_order),
            duration_ms=100,
            flags=[],
            idempotency_key=key or f"race-{lease.assignment.pk}",
        )
    except SubmissionError as exc:
        return exc


def in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    """Start `call` on its own connection; its result lands in the list."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(call())
        except BaseException as exc:  # reported by the test
            out.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


class Pause:
    """Pauses the first thread that calls `module.name` (after the original ran)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
        self.held, self.release = threading.Event(), threading.Event()
        original = getattr(module, name)

        def paused(*args: Any, **kwargs: Any) -> Any:
            value = original(*args, **kwargs)
            if not self.held.is_set():
                self.held.set()
                self.release.wait(WAIT_S)
            return value

        monkeypatch.setattr(module, name, paused)


REAL_NOW = timezone.now


def later_clock(ahead: timedelta) -> Callable[[], datetime]:
    """A stand-in for django.utils.timezone.now that runs `ahead` of the real clock."""
    return lambda: REAL_NOW() + ahead


def wait_until_blocked(thread: threading.Thread) -> bool:
    """Whether another backend comes to wait for a lock before `thread` ends."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and thread.is_alive():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid() "
                "AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return True
        thread.join(0.02)
    return False


def slots_taken(task: Task) -> int:
    task.refresh_from_db()
    live = Assignment.objects.filter(
        task=task, status=AssignmentStatus.LEASED, expires_at__gt=REAL_NOW()
    ).count()
    return task.judgments_done + live


def test_a_submit_committing_as_its_lease_expires_never_pushes_the_task_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = make_project(judgments_per_task=1, lease_seconds=60)
    [task] = make_tasks(project, 1)
    slow, quick = annotators(2)
    lease = next_assignment(project, slow)
    assert lease is not None
    pause = Pause(monkeypatch, submission, "_check_ranking")

    thread, out = in_thread(lambda: submit(lease, slow))
    assert pause.held.wait(WAIT_S)
    # The quick annotator asks once the slow lease has run out (a clock 2 minutes on).
    with monkeypatch.context() as later:
        later.setattr(timezone, "now", later_clock(timedelta(minutes=2)))
        taken = next_assignment(project, quick)
    pause.release.set()
    thread.join(WAIT_S)

    stored = Judgment.objects.filter(task=task).count()
    assert stored + (taken is not None) <= 1, (out, taken)
    assert slots_taken(task) <= 1
    assert [type(result) for result in out] == [submission.Submitted]


def test_a_late_submit_is_stored_while_its_slot_is_still_free() -> None:
    project = make_project(judgments_per_task=1)
    [task] = make_tasks(project, 1)
    [slow] = annotators(1)
    lease = next_assignment(project, slow)
    assert lease is not None
    Assignment.objects.filter(pk=lease.assignment.pk).update(
        expires_at=timezone.now() - timedelta(minutes=5)
    )

    outcome = submit(lease, slow)

    assert not isinstance(outcome, Exception), outcome
    assert outcome.created
    assert Task.objects.get(pk=task.pk).judgments_done == 1
    assert Assignment.objects.get(pk=lease.assignment.pk).status == AssignmentStatus.SUBMITTED


def test_a_late_submit_racing_a_new_lease_for_its_slot_lets_exactly_one_win() -> None:
    project = make_project(judgments_per_task=1)
    [task] = make_tasks(project, 1)
    slow, quick = annotators(2)
    lease = next_assignment(project, slow)
    assert lease is not None
    Assignment.objects.filter(pk=lease.assignment.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    barrier = threading.Barrier(2)

    def at_once(call: Callable[[], Any]) -> Any:
        try:
            barrier.wait()
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        late, taken = pool.map(
            at_once, [lambda: submit(lease, slow), lambda: next_assignment(project, quick)]
        )

    stored = not isinstance(late, Exception)
    assert stored != (taken is not None), (late, taken)
    assert isinstance(late, SubmissionConflict) or stored
    assert slots_taken(task) == 1


def test_a_submit_waits_for_an_exclusion_under_way_and_is_then_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = make_project(judgments_per_task=2)
    [task] = make_tasks(project, 1)
    [user] = annotators(1)
    admin = make_user("ada-admin", Role.ADMIN)
    lease = next_assignment(project, user)
    assert lease is not None
    # Paused inside the exclusion's transaction, just after the standing row is saved.
    pause = Pause(monkeypatch, ProjectAnnotator, "save")

    excluding, _ = in_thread(
        lambda: set_excluded(project, user, excluded=True, by=admin, reason="clicks at random")
    )
    assert pause.held.wait(WAIT_S)
    submitting, out = in_thread(lambda: submit(lease, user))
    wait_until_blocked(submitting)
    pause.release.set()
    excluding.join(WAIT_S)
    submitting.join(WAIT_S)

    [outcome] = out
    assert isinstance(outcome, SubmissionError), outcome
    assert outcome.status == 403 and "excluded" in str(outcome)
    assert Judgment.objects.count() == 0
    assert Task.objects.get(pk=task.pk).judgments_done == 0


def test_a_submit_waits_for_a_prompt_hold_under_way_and_is_then_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = make_project(judgments_per_task=2)
    [task] = make_tasks(project, 1)
    [user] = annotators(1)
    lease = next_assignment(project, user)
    assert lease is not None
    pause = Pause(monkeypatch, prompt_review, "take_out_of_circulation")

    holding, _ = in_thread(lambda: hold_prompts(project, [task.prompt_id]))
    assert pause.held.wait(WAIT_S)
    submitting, out = in_thread(lambda: submit(lease, user))
    wait_until_blocked(submitting)
    pause.release.set()
    holding.join(WAIT_S)
    submitting.join(WAIT_S)

    [outcome] = out
    assert isinstance(outcome, SubmissionConflict), outcome
    assert "out of circulation" in str(outcome)
    assert Judgment.objects.count() == 0
    assert Task.objects.get(pk=task.pk).judgments_done == 0


def test_a_calibration_submit_and_a_next_task_request_in_two_tabs_never_deadlock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project = make_project(judgments_per_task=1, calibration_tasks=2, lease_seconds=60)
    make_tasks(project, 3, gold=True)
    make_tasks(project, 2)
    [user] = annotators(1)
    lease = next_assignment(project, user)
    assert lease is not None and lease.assignment.is_calibration
    pause = Pause(monkeypatch, submission, "_check_ranking")

    submitting, submitted = in_thread(lambda: submit(lease, user))
    assert pause.held.wait(WAIT_S)
    # The other tab asks a moment after the lease ran out (a clock 2 minutes on).
    with monkeypatch.context() as later:
        later.setattr(timezone, "now", later_clock(timedelta(minutes=2)))
        asking, asked = in_thread(lambda: next_assignment(project, user))
        assert wait_until_blocked(asking), asked
    pause.release.set()
    submitting.join(WAIT_S)
    asking.join(WAIT_S)

    [outcome], [other] = submitted, asked
    assert not isinstance(outcome, Exception), outcome
    assert not isinstance(other, Exception), other
    assert Judgment.objects.filter(is_calibration=True).count() == 1
