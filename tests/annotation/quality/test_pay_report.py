"""The pay report against figures worked out by hand, idle-gap cutting included."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from annotation.judging import next_assignment, submit_judgment
from annotation.models import Judgment, Project, ProjectRole, Task, User
from annotation.projects import add_member
from annotation.quality import pay_report, set_excluded
from tests.conftest import client_for
from tests.factories.tasks import make_project, make_tasks
from tests.factories.users import make_user

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)


def at(hour: int, minute: int, second: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=UTC)


def serve(
    project: Project, user: User, when: datetime, duration_ms: int | None, *, right: bool
) -> Judgment:
    """Judge the task the service serves: its gold order (right) or the reverse."""
    lease = next_assignment(project, user)
    assert lease is not None
    task = Task.objects.get(pk=lease.assignment.task_id)
    order = list(task.gold_ranking or lease.assignment.display_order)
    judgment = submit_judgment(
        lease.assignment.pk,
        user,
        ranking=order if right else order[::-1],
        duration_ms=duration_ms,
        flags=[],
        idempotency_key=str(uuid.uuid4()),
    ).judgment
    Judgment.objects.filter(pk=judgment.pk).update(created_at=when)
    return judgment


@pytest.fixture
def paid_project() -> Project:
    # Gold first (gold rate 1), no calibration round: the serving order is known.
    project = make_project(gold_rate=1.0, open_to_annotators=False)
    make_tasks(project, 2, gold=True)
    make_tasks(project, 4)
    ann, bob = make_user("ann"), make_user("bob")
    for user in (ann, bob):
        add_member(project, user, ProjectRole.ANNOTATOR)
    serve(project, ann, at(10, 0, 0), 20_000, right=True)  # gold, 20 s
    serve(project, ann, at(10, 0, 30), 900_000, right=False)  # gold, 900 s: cut to 300
    serve(project, ann, at(10, 1, 30), None, right=True)  # no timer: 60 s since the last
    serve(project, ann, at(10, 30, 0), None, right=True)  # no timer, 1710 s idle: 0
    serve(project, ann, at(12, 0, 0, day=1), 7_000, right=True)  # the day before
    serve(project, bob, at(11, 0, 0), 5_000, right=True)
    set_excluded(project, bob, excluded=True, by=None, reason="careless")
    return project


def test_the_figures_match_the_hand_computed_ones(paid_project: Project) -> None:
    ann, bob = pay_report(paid_project, DAY, DAY)

    assert (ann.annotator, ann.judgments, ann.counted, ann.not_counted) == ("ann", 4, 4, 0)
    assert ann.active_seconds == 20 + 300 + 60 + 0
    assert ann.median_seconds == (20 + 60) / 2  # of 0, 20, 60, 300
    assert (ann.gold_judgments, ann.gold_correct, ann.gold_accuracy) == (2, 1, 0.5)
    # Wilson 95% for 1 of 2: centre 0.5, half-width 1.96 * sqrt(0.125 + 0.2401) / 2.9208.
    assert ann.gold_accuracy_low == pytest.approx(0.0945, abs=1e-4)
    assert ann.gold_accuracy_high == pytest.approx(0.9055, abs=1e-4)
    assert (bob.annotator, bob.judgments, bob.counted, bob.not_counted) == ("bob", 1, 0, 1)
    assert (bob.active_seconds, bob.median_seconds, bob.excluded) == (5, 5, True)
    assert bob.gold_accuracy is None

    everything = {row.annotator: row for row in pay_report(paid_project)}
    assert everything["ann"].judgments == 5
    assert everything["ann"].active_seconds == 7 + 20 + 300 + 60 + 0
    assert pay_report(paid_project, date(2026, 3, 3), None) == []


def test_the_csv_and_the_api_carry_the_same_figures(paid_project: Project) -> None:
    boss = make_user("boss")
    add_member(paid_project, boss, ProjectRole.MANAGER)
    page = Client()
    page.force_login(boss)
    url = reverse("pay-report", args=[paid_project.slug])

    download = page.get(url, {"start": "2026-03-02", "end": "2026-03-02", "download": "csv"})

    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert [(r["annotator"], r["counted"], r["active_seconds"]) for r in rows] == [
        ("ann", "4", "380.0"),
        ("bob", "0", "5.0"),
    ]
    assert rows[1]["excluded"] == "True" and rows[0]["gold_accuracy"] == "0.5"
    shown = page.get(url, {"start": "2026-03-02", "end": "2026-03-02"}).content.decode()
    assert "380 s" in shown and "Download as CSV" in shown
    swapped = page.get(url, {"start": "2026-03-03", "end": "2026-03-02"})
    assert swapped.status_code == HTTPStatus.BAD_REQUEST
    assert "The last day comes before the first" in swapped.content.decode()

    api = client_for(boss).get(
        reverse("project-pay-api", args=[paid_project.slug]),
        {"start": "2026-03-02", "end": "2026-03-02"},
    )
    assert [(r["annotator"], r["active_seconds"], r["median_seconds"]) for r in api.json()] == [
        ("ann", 380.0, 40.0),
        ("bob", 5.0, 5.0),
    ]
