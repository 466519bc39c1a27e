"""The collection-progress dashboard (annotation/judging/collection.py and its page,
annotation/views/collection.py): its figures against the database, in a real Chromium,
refreshed without a reload, and laid out for a phone."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from annotation.judging import (
    collection_progress,
    next_assignment,
    skip_assignment,
    submit_judgment,
)
from annotation.models import Assignment, Judgment, Project, ProjectRole, Task
from annotation.views import collection as collection_view
from core.intervals import poisson_interval
from tests.browser_support import assert_fits_phone
from tests.factories.batches import image_ids
from tests.factories.judging import judge
from tests.factories.tasks import make_project, make_tasks
from tests.factories.users import make_user, member_of


def collecting(slug: str = "collecting") -> tuple[Project, list[Task], dict[str, Any]]:
    """Three pair tasks wanting 2 to 4 judgments, settling at 0.85 (2-0 settles, 1-1 does
    not): the first judged 2-0 (settled: wants 2), the second 1-1 (wants a third), the
    third untouched; one lease held and one skip. Two judgments are three hours old."""
    project = make_project(slug, judgments_per_task=2, max_judgments_per_task=4,
                           consensus_threshold=0.85)  # fmt: skip
    tasks = make_tasks(project, 3)
    people = {name: member_of(project, make_user(name)) for name in ("ann", "bea", "cid", "dee")}
    first, second, _third = tasks
    a, b = image_ids(first)
    judge(first, people["ann"], [a, b])
    judge(first, people["bea"], [a, b])
    a, b = image_ids(second)
    old = [judge(second, people["ann"], [a, b]).pk, judge(second, people["bea"], [b, a]).pk]
    Judgment.objects.filter(pk__in=old).update(created_at=timezone.now() - timedelta(hours=3))
    held = next_assignment(project, people["cid"])
    assert held is not None and held.assignment.task_id == second.pk
    skipped = next_assignment(project, people["dee"])
    assert skipped is not None
    skip_assignment(skipped.assignment.pk, people["dee"])
    return project, tasks, people


@pytest.mark.django_db
def test_the_figures_follow_the_stopping_rule_and_the_database() -> None:
    project, tasks, _people = collecting()
    progress = collection_progress(project)
    rows = Task.objects.filter(project=project)
    assert [t.judgments_wanted for t in rows.order_by("id")] == [2, 3, 2]  # settled, not, new
    assert progress.collected == rows.aggregate(n=Sum("judgments_done"))["n"] == 4
    assert progress.wanted == rows.aggregate(n=Sum("judgments_wanted"))["n"] == 7
    assert progress.wanted < 3 * 4  # not the maximum
    assert (progress.remaining, progress.tasks_complete, progress.tasks) == (3, 1, 3)
    assert progress.last_hour == 2
    assert progress.rate_interval == poisson_interval(2)
    assert progress.eta_hours == pytest.approx(1.5)
    low, high = progress.eta_interval or (None, None)
    assert low == pytest.approx(3 / poisson_interval(2)[1])
    assert high == pytest.approx(3 / poisson_interval(2)[0])
    assert (progress.active_now, progress.active_today, progress.leases_held) == (4, 4, 1)
    assert (progress.skipped, progress.finished) == (1, 5)
    assert sum(n for _hour, n in progress.hourly) == 4
    assert progress.hourly[-1][1] == 2 and len(progress.hourly) == 24

    batch_only = collection_progress(project, tasks[0].batch)
    assert batch_only.collected == 4
    other = make_tasks(project, 2)
    assert collection_progress(project, other[0].batch).wanted == 4
    assert collection_progress(project).wanted == 11


@pytest.mark.django_db
def test_tasks_out_of_circulation_are_counted_apart_and_nothing_left_means_done() -> None:
    project = make_project("quiet", judgments_per_task=1)
    tasks = make_tasks(project, 2)
    Task.objects.filter(pk=tasks[1].pk).update(is_active=False)
    ann = member_of(project, make_user("ann"))
    judge(tasks[0], ann, image_ids(tasks[0]))
    progress = collection_progress(project)
    assert (progress.tasks, progress.out_of_circulation, progress.remaining) == (1, 1, 0)
    assert progress.eta_hours == 0.0
    assert collection_view.figures(progress)["eta"] == "done"


@pytest.mark.django_db
def test_with_no_judgment_in_the_last_hour_the_time_left_is_unknown() -> None:
    project = make_project("stalled", judgments_per_task=1)
    make_tasks(project, 2)
    figures = collection_view.figures(collection_progress(project))
    assert (figures["eta"], figures["eta_interval"]) == ("unknown", "no judgment in the last hour")
    assert figures["skip_interval"] == "nothing finished yet"


@pytest.mark.django_db
def test_the_data_endpoint_answers_json_and_refuses_a_batch_of_another_project() -> None:
    project, tasks, _people = collecting()
    elsewhere = make_tasks(make_project("elsewhere"), 1)[0]
    boss = make_user("boss")
    member_of(project, boss, ProjectRole.RESEARCHER)
    client = Client()
    client.force_login(boss)
    data = client.get("/manage/projects/collecting/progress/data/").json()
    assert data["figures"]["collected"] == "4" and data["figures"]["wanted"] == "7"
    assert [row["id"] for row in data["batches"]] == [tasks[0].batch_id]
    assert data["chart"].startswith("<svg") and "judgments" in data["chart"]
    for bad in (str(elsewhere.batch_id), "x1"):
        response = client.get(f"/manage/projects/collecting/progress/?batch={bad}")
        assert response.status_code == 404
        assert "has no batch" in response.content.decode()


def figure(page: Page, name: str) -> str:
    return page.locator(f'[data-figure="{name}"]').first.inner_text()


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_shows_the_database_figures_and_refreshes_itself(
    page_for: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collection_view, "REFRESH_SECONDS", 1)
    project, tasks, people = collecting()
    boss = make_user("boss")
    member_of(project, boss, ProjectRole.MANAGER)
    page = page_for(boss)
    page.goto(f"/manage/projects/{project.slug}/progress/")
    rows = Task.objects.filter(project=project, is_active=True)
    expected = {
        "collected": str(rows.aggregate(n=Sum("judgments_done"))["n"]),
        "wanted": str(rows.aggregate(n=Sum("judgments_wanted"))["n"]),
        "tasks_complete": "1",
        "tasks": str(rows.count()),
        "share_complete": "33%",
        "rate": str(
            Judgment.objects.filter(created_at__gt=timezone.now() - timedelta(hours=1)).count()
        ),
        "eta": "1.5 h",
        "active_now": "4",
        "active_today": "4",
        "skip_rate": "20%",
        "leases": str(Assignment.objects.filter(status="leased").count()),
    }
    assert {name: figure(page, name) for name in expected} == expected | {
        "collected": "4",
        "wanted": "7",
        "rate": "2",
        "leases": "1",
    }
    chart = page.locator("[data-chart] svg")
    expect(chart).to_have_attribute("aria-label", "Judgments per hour, last 24 hours")
    hover = chart.locator("rect.bar title").all_text_contents()
    assert sum(int(text.split(": ")[1].split()[0]) for text in hover) == 4
    expect(page.locator('tr[data-batch] [data-cell="collected"]')).to_have_text("4")

    # cid submits the task they hold: the page shows it without a reload.
    held = Assignment.objects.get(annotator=people["cid"], status="leased")
    a, b = image_ids(tasks[1])
    submit_judgment(held.pk, people["cid"], ranking=[a, b], duration_ms=900, flags=[],
                    idempotency_key="cid-1")  # fmt: skip
    expect(page.locator('[data-figure="collected"]')).to_have_text("5", timeout=10_000)
    expect(page.locator('[data-figure="rate"]')).to_have_text("3")
    expect(page.locator('[data-figure="leases"]')).to_have_text("0")
    expect(page.locator('tr[data-batch] [data-cell="collected"]')).to_have_text("5")
    assert page.locator("[data-progress-error]").is_hidden()


@pytest.mark.django_db(transaction=True)
def test_the_dashboard_fits_a_phone(page_for: Any) -> None:
    project, tasks, _people = collecting()
    boss = make_user("boss")
    member_of(project, boss, ProjectRole.RESEARCHER)
    page = page_for(boss, phone=True)
    page.goto(f"/manage/projects/{project.slug}/progress/")
    expect(page.locator('[data-figure="collected"]')).to_have_text("4")
    assert_fits_phone(page)
    page.get_by_role("link", name="Batch progress").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"batch {tasks[0].batch_id}")
    assert_fits_phone(page)
