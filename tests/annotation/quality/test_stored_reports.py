"""The leaderboard and the agreement report are computed in the background and served as
of their time: a page view never fits, a refresh is queued once per debounce window, and
the stored reports are bounded (one row per project and kind)."""

from __future__ import annotations

import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from annotation.leaderboard import resampling
from annotation.models import Project, StoredReport, User
from annotation.quality import REFRESH_REPORTS_TASK, compute_agreement, request_refresh
from annotation.quality.agreement import agreement_version
from annotation.tasks import refresh_reports
from core.queueing import debounce_key
from core.redis_outage import client_of
from tests.annotation.intake.test_batch_processing import celery_worker
from tests.annotation.leaderboard.test_leaderboard import consistent_project, ranked_by_generator
from tests.conftest import client_for
from tests.factories.judging import judge_all
from tests.factories.users import member_of


def forget_debounce(project: Project) -> None:
    client_of(settings.REDIS_URL).delete(debounce_key(REFRESH_REPORTS_TASK, project.pk))


def queued() -> int:
    """Messages waiting on the default queue of the test broker."""
    return int(client_of(settings.REDIS_URL).llen("default"))


def fits() -> int:
    info = resampling._fit_strengths_cached.cache_info()
    return info.hits + info.misses


def page(user: User, name: str, project: Project) -> str:
    client = client_for(user)
    client.force_login(user)
    if name == "datasets":
        response = client.get(reverse("datasets"), {"project": project.slug})
    else:
        response = client.get(reverse("quality-dashboard", kwargs={"slug": project.slug}))
    assert response.status_code == HTTPStatus.OK
    return response.content.decode()


@pytest.mark.django_db
def test_pages_serve_the_stored_reports_and_queue_one_refresh(
    tmp_path: Path, researcher_user: User, admin_user: User
) -> None:
    judged = consistent_project(tmp_path / "in")
    project = judged.project
    member_of(project, researcher_user, "researcher")
    forget_debounce(project)
    before_fits, before_queued = fits(), queued()

    # Nothing stored yet: a clear empty state, no fit, one refresh queued for both pages.
    html = page(researcher_user, "datasets", project)
    assert "The leaderboard is being computed in the background" in html
    assert "<circle" not in html
    quality = page(admin_user, "quality", project)
    assert "The agreement report is being computed in the background" in quality
    assert fits() == before_fits
    assert not StoredReport.objects.filter(project=project).exists()
    assert queued() == before_queued + 1
    ttl = client_of(settings.REDIS_URL).ttl(debounce_key(REFRESH_REPORTS_TASK, project.pk))
    assert 0 < ttl <= settings.REPORT_REFRESH_DEBOUNCE_SECONDS

    # The worker's task stores both; the pages then show them as of their time.
    assert refresh_reports(project.pk) == 1
    kinds = set(StoredReport.objects.filter(project=project).values_list("kind", flat=True))
    assert kinds == {StoredReport.Kind.LEADERBOARD, StoredReport.Kind.AGREEMENT}
    html = page(researcher_user, "datasets", project)
    assert html.count("<circle") == 4 and 'data-report-state="current"' in html
    assert "As of " in html and "updating" not in html
    assert 'data-report-state="current"' in page(admin_user, "quality", project)

    # New judgments: the old results are served, marked "updating", never refitted on the
    # page, and the refresh is not queued again inside the debounce window.
    stored = StoredReport.objects.get(project=project, kind=StoredReport.Kind.LEADERBOARD)
    assert len(judge_all(project, judged.annotators[1], ranked_by_generator)) == 7
    fitted, waiting = fits(), queued()
    html = page(researcher_user, "datasets", project)
    assert 'data-report-state="updating"' in html and "updating…" in html
    assert html.count("<circle") == 4
    assert 'data-report-state="updating"' in page(admin_user, "quality", project)
    assert fits() == fitted and queued() == waiting
    assert StoredReport.objects.get(pk=stored.pk).computed_at == stored.computed_at

    # Past the window the next view queues it again; the task brings both up to date.
    forget_debounce(project)
    page(researcher_user, "datasets", project)
    assert queued() == waiting + 1
    refresh_reports(project.pk)
    assert 'data-report-state="current"' in page(researcher_user, "datasets", project)
    renewed = StoredReport.objects.get(pk=stored.pk)
    assert renewed.computed_at > stored.computed_at
    assert renewed.report["overall"]["comparisons"] == 14
    assert StoredReport.objects.filter(project=project).count() == 2


@pytest.mark.django_db
def test_the_refresh_is_queued_once_per_window(tmp_path: Path) -> None:
    project = consistent_project(tmp_path / "in").project
    forget_debounce(project)
    waiting = queued()
    assert request_refresh(project) is True
    assert [request_refresh(project) for _ in range(5)] == [False] * 5
    assert queued() == waiting + 1
    assert refresh_reports(987654) == 0  # a project deleted since: nothing to do


@pytest.mark.django_db
def test_many_filters_do_not_make_many_stored_reports(tmp_path: Path) -> None:
    project = consistent_project(tmp_path / "in").project
    compute_agreement(project)
    for n in range(6):
        report = compute_agreement(project, guideline_version=f"v{n}")
        assert report["filters"]["guideline_version"] == f"v{n}"
    compute_agreement(project, split="train")
    rows = StoredReport.objects.filter(project=project)
    assert rows.count() == 2
    filtered = rows.get(kind=StoredReport.Kind.AGREEMENT_FILTERED)
    assert filtered.data_version == agreement_version(project, split="train")
    # The last filter is reused while the data are unchanged; the unfiltered one too.
    again = compute_agreement(project, split="train")
    assert again["computed_at"] == filtered.report["computed_at"]
    unfiltered = rows.get(kind=StoredReport.Kind.AGREEMENT)
    assert compute_agreement(project)["computed_at"] == unfiltered.report["computed_at"]


@pytest.mark.django_db
def test_an_exclusion_makes_the_stored_reports_stale(tmp_path: Path) -> None:
    from annotation.quality.annotator_quality import set_excluded

    judged = consistent_project(tmp_path / "in")
    project = judged.project
    refresh_reports(project.pk)
    stored = StoredReport.objects.get(project=project, kind=StoredReport.Kind.AGREEMENT)
    set_excluded(project, judged.annotators[0], excluded=True, by=None)
    assert stored.data_version != agreement_version(project)
    refresh_reports(project.pk)
    report = StoredReport.objects.get(pk=stored.pk).report
    assert report["excluded_annotators"] == [judged.annotators[0].username]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_refresh_a_page_queued(
    tmp_path: Path, media_root: Path, researcher_user: User
) -> None:
    judged = consistent_project(tmp_path / "in")
    project = judged.project
    member_of(project, researcher_user, "researcher")
    forget_debounce(project)
    assert "being computed" in page(researcher_user, "datasets", project)
    with celery_worker(media_root) as worker:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert worker.poll() is None, "the worker died"
            if StoredReport.objects.filter(project=project).count() == 2:
                break
            time.sleep(0.3)
    assert StoredReport.objects.filter(project=project).count() == 2
    assert page(researcher_user, "datasets", project).count("<circle") == 4


@pytest.mark.django_db
def test_a_page_still_renders_when_redis_is_down(
    tmp_path: Path, researcher_user: User, settings: Any
) -> None:
    from core.redis_outage import outage_of

    judged = consistent_project(tmp_path / "in")
    member_of(judged.project, researcher_user, "researcher")
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens there
    try:
        assert request_refresh(judged.project) is False
        assert "being computed in the background" in page(
            researcher_user, "datasets", judged.project
        )
    finally:
        outage_of(settings.REDIS_URL).clear()
