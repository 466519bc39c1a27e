"""Adaptive redundancy end to end: tasks collect between the minimum and the maximum
while the stopping rule (annotation/judging/stopping.py) says their judgments disagree.

Pairwise tasks, minimum 2, maximum 4, threshold 0.85 unless told: 2-0 (0.875) stops at
the minimum, 1-1 (0.5), 2-1 (0.6875) and 3-1 (0.8125) go on, the fourth judgment stops.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from http import HTTPStatus
from io import StringIO
from pathlib import Path
from typing import TypeVar

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Count
from django.urls import reverse

from annotation.intake import BatchRejected
from annotation.intake.importing import import_batch
from annotation.judging import SERVING_ORDERS, set_serving_order, wants_more
from annotation.judging.assignment import Lease, next_assignment
from annotation.judging.submission import skip_assignment, submit_judgment
from annotation.models import (
    Assignment,
    AssignmentStatus,
    AuditAction,
    AuditEvent,
    Batch,
    Judgment,
    Project,
    ProjectRole,
    Task,
    User,
)
from tests.conftest import client_for
from tests.factories.batches import database_state, image_ids, write_batch
from tests.factories.tasks import make_project, make_tasks
from tests.factories.users import annotators, make_user, member_of

T = TypeVar("T")


def prefer(lease: Lease, user: User, first: bool) -> Judgment:
    """Submit the lease preferring the task's first uploaded image (or the second)."""
    ids = image_ids(Task.objects.get(pk=lease.assignment.task_id))
    return submit_judgment(
        lease.assignment.pk,
        user,
        ranking=ids if first else ids[::-1],
        duration_ms=50,
        flags=[],
        idempotency_key=f"adaptive-{lease.assignment.pk}",
    ).judgment


def judge_in_turn(project: Project, users: list[User], votes: list[bool]) -> list[User]:
    """Each user in turn takes the next task and judges it by their vote; the users who
    were given a task."""
    served = []
    for user, vote in zip(users, votes, strict=False):
        lease = next_assignment(project, user)
        if lease is None:
            continue
        prefer(lease, user, vote)
        served.append(user)
    return served


def adaptive_task(threshold: float = 0.85) -> tuple[Project, Task]:
    project = make_project(
        judgments_per_task=2, max_judgments_per_task=4, consensus_threshold=threshold
    )
    [task] = make_tasks(project, 1)
    return project, task


@pytest.mark.django_db
def test_two_agreeing_judgments_stop_the_task_at_the_minimum() -> None:
    project, task = adaptive_task()
    users = annotators(4)
    assert task.judgments_wanted == 2

    served = judge_in_turn(project, users, [True, True, True, True])

    assert served == users[:2]
    task.refresh_from_db()
    assert (task.judgments_done, task.judgments_wanted) == (2, 2)
    assert next_assignment(project, users[2]) is None


@pytest.mark.django_db
def test_a_split_task_goes_on_until_the_maximum() -> None:
    project, task = adaptive_task()
    users = annotators(6)

    # 1-1 after two, 2-1 after three, 3-1 after four: the maximum.
    served = judge_in_turn(project, users[:3], [True, False, True])
    task.refresh_from_db()
    assert served == users[:3]
    assert (task.judgments_done, task.judgments_wanted) == (3, 4)

    served = judge_in_turn(project, users[3:], [True, True, True])
    task.refresh_from_db()
    assert served == users[3:4]
    assert (task.judgments_done, task.judgments_wanted) == (4, 4)
    assert Judgment.objects.filter(task=task).count() == 4


@pytest.mark.django_db
def test_a_higher_threshold_needs_three_to_nil_and_stops_before_the_maximum() -> None:
    project, task = adaptive_task(threshold=0.9)
    users = annotators(5)

    # 2-0 (0.875) is below 0.9 and goes on; 3-0 (0.9375) stops at three of four.
    served = judge_in_turn(project, users, [True, True, True, True, True])

    task.refresh_from_db()
    assert served == users[:3]
    assert (task.judgments_done, task.judgments_wanted) == (3, 3)


@pytest.mark.django_db
def test_past_the_minimum_a_task_asks_for_one_judgment_at_a_time() -> None:
    project, task = adaptive_task()
    first, second, third, fourth = annotators(4)
    one, two = next_assignment(project, first), next_assignment(project, second)
    assert next_assignment(project, third) is None  # two slots: the minimum
    assert one is not None and two is not None

    prefer(one, first, True)
    prefer(two, second, False)  # 1-1: one more is wanted, only one
    task.refresh_from_db()
    assert (task.judgments_done, task.judgments_wanted) == (2, 3)
    lease = next_assignment(project, third)
    assert lease is not None and lease.assignment.task_id == task.pk
    assert next_assignment(project, fourth) is None

    prefer(lease, third, True)  # 2-1 (0.6875): still one more
    task.refresh_from_db()
    assert (task.judgments_done, task.judgments_wanted) == (3, 4)


@pytest.mark.django_db
def test_a_skipped_extra_slot_is_offered_again() -> None:
    project, task = adaptive_task()
    users = annotators(4)
    judge_in_turn(project, users[:2], [True, False])
    lease = next_assignment(project, users[2])
    assert lease is not None
    skip_assignment(lease.assignment.pk, users[2])

    served = judge_in_turn(project, users[2:], [True, True])

    task.refresh_from_db()
    assert served == users[3:]
    assert (task.judgments_done, task.judgments_wanted) == (3, 4)


@pytest.mark.django_db
def test_fixed_redundancy_is_unchanged_and_gold_tasks_never_adapt() -> None:
    project = make_project(judgments_per_task=2, max_judgments_per_task=4, gold_rate=1.0)
    [gold] = make_tasks(project, 1, gold=True)
    fixed = make_project("fixed", judgments_per_task=3)
    [task] = make_tasks(fixed, 1)
    users = annotators(4)

    judge_in_turn(fixed, users, [True, True, True, True])
    judge_in_turn(project, users, [True, False, True, True])

    task.refresh_from_db()
    gold.refresh_from_db()
    assert (task.judgments_done, task.judgments_wanted) == (3, 3)
    assert (gold.judgments_done, gold.judgments_wanted) == (2, 2)


@pytest.mark.django_db
def test_import_sets_the_minimum_and_maximum_for_new_and_existing_projects(
    tmp_path: Path, media_root: Path
) -> None:
    out = StringIO()
    call_command(
        "import_batch",
        str(write_batch(tmp_path / "one", groups=2)),
        "--project",
        "adaptive",
        "--judgments-per-task",
        "2",
        "--max-judgments-per-task",
        "5",
        stdout=out,
    )
    summary = json.loads(out.getvalue().splitlines()[-1])
    project = Project.objects.get(slug="adaptive")
    batch = Batch.objects.get(pk=summary["batch"])

    assert (summary["judgments_per_task"], summary["max_judgments_per_task"]) == (2, 5)
    assert (project.judgments_per_task, project.max_judgments_per_task) == (2, 5)
    assert (batch.judgments_per_task, batch.judgments_maximum) == (2, 5)
    assert set(Task.objects.filter(batch=batch).values_list("judgments_wanted", flat=True)) == {2}

    # An existing project: the batch gets its own maximum, the project keeps its own.
    second = import_batch(
        write_batch(tmp_path / "two", groups=1, seed=1),
        "adaptive",
        judgments_per_task=3,
        max_judgments_per_task=3,
    )
    assert (second.judgments_per_task, second.max_judgments_per_task) == (3, 3)
    # Without options, the project's minimum and maximum.
    third = import_batch(write_batch(tmp_path / "three", groups=1, seed=2), "adaptive")
    assert (third.judgments_per_task, third.max_judgments_per_task) == (2, 5)
    assert Task.objects.filter(batch_id=second.batch).get().judgments_wanted == 3
    project.refresh_from_db()
    assert (project.judgments_per_task, project.max_judgments_per_task) == (2, 5)


@pytest.mark.django_db
def test_a_maximum_below_the_minimum_is_rejected_and_nothing_is_stored(
    tmp_path: Path, media_root: Path
) -> None:
    import_batch(write_batch(tmp_path / "one", groups=1), "adaptive", judgments_per_task=3)
    before = database_state()

    with pytest.raises(BatchRejected) as rejected:
        import_batch(
            write_batch(tmp_path / "two", groups=1, seed=1), "adaptive", max_judgments_per_task=2
        )
    assert [(p.where, p.message) for p in rejected.value.problems] == [
        (
            "max_judgments_per_task",
            "2 is below judgments_per_task (3); give a maximum at least the minimum (equal to "
            "it for a fixed number of judgments)",
        )
    ]
    with pytest.raises(CommandError, match="1 problem"):
        call_command(
            "import_batch",
            str(tmp_path / "two"),
            "--project",
            "adaptive",
            "--max-judgments-per-task",
            "101",
            stderr=StringIO(),
        )
    assert database_state() == before


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


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("order", SERVING_ORDERS)
def test_many_concurrent_annotators_never_over_serve_adaptive_tasks(order: str) -> None:
    minimum, maximum, threshold = 2, 5, 0.85
    project = make_project(
        judgments_per_task=minimum, max_judgments_per_task=maximum, consensus_threshold=threshold
    )
    tasks = make_tasks(project, 12)
    set_serving_order(project, order)
    for i, task in enumerate(tasks):  # margins as an active scorer would leave them
        Task.objects.filter(pk=task.pk).update(model_margin=None if i % 4 == 3 else (7 * i) % 5)
    first_image = {task.pk: image_ids(task)[0] for task in tasks}
    # Even tasks: everyone prefers the first image (easy); odd ones: annotators split.
    easy = {task.pk: i % 2 == 0 for i, task in enumerate(tasks)}
    users = annotators(12)

    def work(index: int, user: User) -> int:
        submitted = 0
        lease = next_assignment(project, user)
        while lease is not None:
            ahead = next_assignment(project, user, ahead_of=lease.assignment.pk)
            task_id = lease.assignment.task_id
            ids = [image.id for image in lease.images]
            first = easy[task_id] or index % 2 == 0
            best = (
                first_image[task_id] if first else next(i for i in ids if i != first_image[task_id])
            )
            ranking = [best] + [i for i in ids if i != best]
            outcome = submit_judgment(
                lease.assignment.pk,
                user,
                ranking=ranking,
                duration_ms=10,
                flags=[],
                idempotency_key=f"{user.pk}-{lease.assignment.pk}",
            )
            submitted += outcome.created
            lease = ahead if ahead is not None else next_assignment(project, user)
        return submitted

    done = all_at_once([partial(work, i, u) for i, u in enumerate(users)])
    # A judgment submitted as the others stopped asking may have reopened a task: one
    # more pass, one annotator after another, finishes every task.
    done += [work(i, u) for i, u in enumerate(users)]

    assert sum(done) == Judgment.objects.count()
    assert not Judgment.objects.values("task", "annotator").annotate(n=Count("id")).filter(n__gt=1)
    per_task = Counter(Judgment.objects.values_list("task_id", flat=True))
    for task in Task.objects.all():
        rankings = list(
            Judgment.objects.filter(task=task).order_by("pk").values_list("ranking", flat=True)
        )
        assert minimum <= per_task[task.pk] == task.judgments_done <= maximum
        assert task.judgments_wanted == task.judgments_done  # finished, nothing left open
        # Every task ended where the rule says to stop.
        assert not wants_more(rankings, minimum=minimum, maximum=maximum, threshold=threshold)
    assert not Assignment.objects.filter(status=AssignmentStatus.LEASED).exists()
    # The easy half settled before the maximum: adaptive spent fewer than fixed k = max.
    assert sum(per_task.values()) < len(tasks) * maximum


@pytest.mark.django_db
def test_a_manager_sets_the_redundancy_through_the_api_and_bad_values_change_nothing() -> None:
    project = make_project(judgments_per_task=2)
    manager = member_of(project, make_user("boss"), ProjectRole.MANAGER)
    annotator = member_of(project, make_user("ann"), ProjectRole.ANNOTATOR)
    url = reverse("project-detail", kwargs={"slug": project.slug})

    refused = client_for(annotator).patch(url, {"max_judgments_per_task": 4}, format="json")
    below = client_for(manager).patch(url, {"max_judgments_per_task": 1}, format="json")
    threshold = client_for(manager).patch(url, {"consensus_threshold": 1.5}, format="json")
    stray = client_for(manager).patch(url, {"name": "renamed"}, format="json")
    project.refresh_from_db()
    assert (project.judgments_maximum, project.consensus_threshold, project.name) == (
        2,
        0.9,
        "Foxes",
    )
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert below.status_code == threshold.status_code == stray.status_code == HTTPStatus.BAD_REQUEST
    assert below.json()["problems"] == [
        {
            "where": "max_judgments_per_task",
            "message": "1 is below judgments_per_task (2); give a maximum at least the minimum "
            "(equal to it for a fixed number of judgments)",
        }
    ]
    assert threshold.json()["problems"][0]["where"] == "consensus_threshold"
    assert stray.json()["problems"][0]["where"] == "name"

    changed = client_for(manager).patch(
        url, {"max_judgments_per_task": 5, "consensus_threshold": 0.95}, format="json"
    )
    assert changed.status_code == HTTPStatus.OK, changed.content
    body = changed.json()
    assert (body["judgments_per_task"], body["max_judgments_per_task"]) == (2, 5)
    assert body["consensus_threshold"] == 0.95
    event = AuditEvent.objects.get(action=AuditAction.THRESHOLDS_CHANGED)
    assert (event.before, event.after) == (
        {"max_judgments_per_task": 2, "consensus_threshold": 0.9},
        {"max_judgments_per_task": 5, "consensus_threshold": 0.95},
    )
    project.refresh_from_db()
    [task] = make_tasks(project, 1)  # a batch after the change collects up to five
    assert (task.batch.judgments_per_task, task.batch.judgments_maximum) == (2, 5)
