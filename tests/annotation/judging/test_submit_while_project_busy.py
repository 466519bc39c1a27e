"""Annotators submit over HTTP while a long transaction works on their project.

An import, the gold-pair maker and the repeat scheduler each hold one transaction for
their whole run. Each is stopped at a known point inside that transaction (after it has
taken its project lock and written rows) while annotators submit; a submit that waited
for that transaction would run into the connection's lock_timeout and fail. Real
threads, each on its own PostgreSQL connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from annotation.intake import importing
from annotation.judging.assignment import next_assignment
from annotation.models import Judgment, PairJudgment, Project, QualitySettings, Task
from annotation.projects import set_open_to_annotators
from annotation.quality import gold, repeats
from annotation.quality.gold import make_gold_pairs
from annotation.quality.repeats import schedule_repeat_items
from tests.conftest import client_for
from tests.factories.batches import image_ids, import_ready_batch, write_batch
from tests.factories.judging import judge
from tests.factories.users import annotators

pytestmark = pytest.mark.django_db(transaction=True)

HOLD_S = 30


class HeldWork:
    """`work` run in a thread on its own connection, paused where `module.name` is called
    (after the original ran) until released; its result or error is kept."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
        self.held = threading.Event()
        self.release = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        original = getattr(module, name)

        def paused(*args: Any, **kwargs: Any) -> Any:
            value = original(*args, **kwargs)
            if not self.held.is_set():
                self.held.set()
                self.release.wait(HOLD_S)
            return value

        monkeypatch.setattr(module, name, paused)

    @contextmanager
    def running(self, work: Callable[[], Any]) -> Iterator[None]:
        def run() -> None:
            try:
                self.result = work()
            except BaseException as exc:  # reported by the test
                self.error = exc
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        try:
            assert self.held.wait(HOLD_S), f"never reached the pause point ({self.error!r})"
            yield
        finally:
            self.release.set()
            thread.join(HOLD_S)
        assert self.error is None, self.error


def submit_over_http(project: Project, count: int) -> list[int]:
    """`count` annotators each lease a task and submit it; the HTTP statuses."""
    statuses = []
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '3s'")
    try:
        for user in annotators(count, prefix="busy"):
            lease = next_assignment(project, user)
            assert lease is not None
            response = client_for(user).post(
                reverse("assignment-submit", args=[lease.assignment.pk]),
                {"ranking": [image.id for image in lease.images], "duration_ms": 900},
                format="json",
                HTTP_IDEMPOTENCY_KEY=f"busy-{user.pk}",
            )
            statuses.append(response.status_code)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    return statuses


def test_submits_go_through_while_a_batch_is_imported_into_their_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = import_ready_batch(write_batch(tmp_path / "first", groups=4), "busy")
    project = batch.project
    set_open_to_annotators(project, True)  # the test's annotators are not members
    second = write_batch(tmp_path / "second", groups=3, seed=7, prompt="a grey owl {n}")
    held = HeldWork(monkeypatch, importing, "_write_rows")

    with held.running(lambda: importing.import_batch(second, "busy")):
        statuses = submit_over_http(project, 3)

    assert statuses == [HTTPStatus.CREATED] * 3
    assert Judgment.objects.count() == 3 and PairJudgment.objects.count() == 3
    assert held.result.tasks == 3
    assert Task.objects.filter(project=project).count() == 7


def test_submits_go_through_while_gold_pairs_are_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = import_ready_batch(write_batch(tmp_path / "b", groups=6), "busy").project
    set_open_to_annotators(project, True)  # the test's annotators are not members
    held = HeldWork(monkeypatch, gold, "_gold_pair")

    with held.running(lambda: make_gold_pairs(project, count=2, seed=3)):
        statuses = submit_over_http(project, 2)

    assert statuses == [HTTPStatus.CREATED] * 2
    assert len(held.result) == 2
    assert Task.objects.filter(project=project, is_gold=True).count() == 2


def test_submits_go_through_while_repeats_are_scheduled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = import_ready_batch(write_batch(tmp_path / "b", groups=6), "busy").project
    set_open_to_annotators(project, True)  # the test's annotators are not members
    QualitySettings.objects.create(project=project, repeat_rate=0.5, repeat_after_hours=0)
    [early] = annotators(1, prefix="early")
    for task in Task.objects.filter(project=project).order_by("pk")[:2]:
        judge(task, early, image_ids(task))
    held = HeldWork(monkeypatch, repeats, "counted_judgments")

    with held.running(lambda: schedule_repeat_items(project)):
        statuses = submit_over_http(project, 2)

    assert statuses == [HTTPStatus.CREATED] * 2
    assert held.result == 1
