"""Many annotators at once, each thread on its own PostgreSQL connection (committed data)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
from typing import TypeVar

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from annotation.judging.assignment import next_assignment
from annotation.judging.submission import submit_judgment
from annotation.models import Assignment, AssignmentStatus, Judgment, PairJudgment, Role, Task, User
from annotation.projects.accounts import add_user
from tests.factories.tasks import make_project, make_tasks

pytestmark = pytest.mark.django_db(transaction=True)

T = TypeVar("T")


def annotators(n: int) -> list[User]:
    return [
        add_user(f"ann-{i}", Role.ANNOTATOR, password="correct-horse-battery-9").user
        for i in range(n)
    ]


def all_at_once(calls: list[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread, released together; each closes its connection."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], T]) -> T:
        try:
            barrier.wait()
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_one_slot_asked_for_by_many_at_once_is_leased_once() -> None:
    project = make_project(judgments_per_task=1)
    make_tasks(project, 1)
    users = annotators(16)

    leases = all_at_once([partial(next_assignment, project, u) for u in users])

    assert sum(lease is not None for lease in leases) == 1
    assert Assignment.objects.count() == 1


def test_one_annotator_asking_many_times_at_once_gets_one_lease() -> None:
    project = make_project()
    make_tasks(project, 5)
    [user] = annotators(1)

    leases = all_at_once([lambda: next_assignment(project, user) for _ in range(10)])

    assert {lease.assignment.pk for lease in leases if lease is not None} == {
        Assignment.objects.get().pk
    }


def test_many_annotators_working_through_a_project_never_over_assign() -> None:
    k = 3
    project = make_project(judgments_per_task=k)
    make_tasks(project, 12)
    users = annotators(12)

    def work(user: User) -> int:
        submitted = 0
        while (lease := next_assignment(project, user)) is not None:
            ranking = [image.id for image in lease.images]
            outcome = submit_judgment(
                lease.assignment.pk,
                user,
                ranking=ranking,
                duration_ms=10,
                flags=[],
                idempotency_key=f"{user.pk}-{lease.assignment.pk}",
            )
            submitted += outcome.created
        return submitted

    done = all_at_once([partial(work, u) for u in users])

    assert sum(done) == 12 * k == Judgment.objects.count()
    per_task = Counter(Judgment.objects.values_list("task_id", flat=True))
    assert set(per_task.values()) == {k}
    assert not Judgment.objects.values("task", "annotator").annotate(n=Count("id")).filter(n__gt=1)
    assert all(t.judgments_done == k for t in Task.objects.all())
    assert PairJudgment.objects.count() == 12 * k
    assert not Assignment.objects.filter(status=AssignmentStatus.LEASED).exists()


def test_concurrent_replays_of_one_submit_store_it_once() -> None:
    project = make_project()
    make_tasks(project, 1)
    [user] = annotators(1)
    lease = next_assignment(project, user)
    assert lease is not None
    ranking = [image.id for image in lease.images]

    outcomes = all_at_once(
        [
            lambda: submit_judgment(
                lease.assignment.pk,
                user,
                ranking=ranking,
                duration_ms=5,
                flags=[],
                idempotency_key="one-key",
            )
            for _ in range(10)
        ]
    )

    assert sum(outcome.created for outcome in outcomes) == 1
    assert {outcome.judgment.pk for outcome in outcomes} == {Judgment.objects.get().pk}
    assert Task.objects.get().judgments_done == 1
    assert PairJudgment.objects.count() == 1


def test_expired_leases_are_reassigned_to_others_exactly_up_to_k() -> None:
    k = 2
    project = make_project(judgments_per_task=k)
    make_tasks(project, 3)
    first_wave = annotators(3)
    second_wave = [
        add_user(f"late-{i}", Role.ANNOTATOR, password="correct-horse-battery-9").user
        for i in range(8)
    ]
    assert all(next_assignment(project, u) is not None for u in first_wave)
    Assignment.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    leases = all_at_once([partial(next_assignment, project, u) for u in second_wave])

    live = Assignment.objects.filter(status=AssignmentStatus.LEASED, expires_at__gt=timezone.now())
    assert sum(lease is not None for lease in leases) == 3 * k
    assert set(Counter(live.values_list("task_id", flat=True)).values()) == {k}
