"""An identical export request on unchanged data reuses its snapshot; a nearly full disk
refuses new exports with a message naming the free and the needed space."""

from __future__ import annotations

import shutil
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from annotation.export import create_export, export_snapshot
from annotation.models import ExportSnapshot, User
from tests.annotation.leaderboard.test_leaderboard import consistent_project, ranked_by_generator
from tests.conftest import client_for
from tests.factories.judging import judge_all
from tests.factories.users import member_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_root(tmp_path: Path, settings: Any) -> Path:
    root = tmp_path / "exports"
    settings.EXPORT_ROOT = root
    return root


def test_identical_requests_on_unchanged_data_reuse_the_snapshot(
    tmp_path: Path, researcher_user: User
) -> None:
    judged = consistent_project(tmp_path / "in")
    member_of(judged.project, researcher_user, "researcher")
    client = client_for(researcher_user)
    url = reverse("project-exports", kwargs={"slug": judged.project.slug})
    asked = {"split": "train", "min_annotators": 1}

    first = client.post(url, asked, format="json")
    assert first.status_code == HTTPStatus.ACCEPTED and first.json()["reused"] is False
    # Still queued: the same request gets the same snapshot.
    again = client.post(url, asked, format="json")
    assert again.status_code == HTTPStatus.OK
    assert again.json()["reused"] is True and again.json()["id"] == first.json()["id"]
    assert "reused (nothing new was started)" in again.json()["detail"]
    # Done: still the same snapshot.
    export_snapshot(first.json()["id"])
    done = client.post(url, asked, format="json")
    assert done.status_code == HTTPStatus.OK and done.json()["status"] == "done"
    assert ExportSnapshot.objects.count() == 1

    # Other parameters, or new judgments, make a new snapshot.
    other = client.post(url, {**asked, "split": "test"}, format="json")
    assert other.status_code == HTTPStatus.ACCEPTED
    assert len(judge_all(judged.project, judged.annotators[1], ranked_by_generator)) == 7
    newer = client.post(url, asked, format="json")
    assert newer.status_code == HTTPStatus.ACCEPTED and newer.json()["reused"] is False
    assert ExportSnapshot.objects.count() == 3

    # A done snapshot whose files were removed (pruned) is not reused.
    export_snapshot(newer.json()["id"])
    shutil.rmtree(ExportSnapshot.objects.get(pk=newer.json()["id"]).path)
    replaced = client.post(url, asked, format="json")
    assert replaced.status_code == HTTPStatus.ACCEPTED
    assert ExportSnapshot.objects.count() == 4


def test_the_page_says_when_it_reuses_a_snapshot(tmp_path: Path, researcher_user: User) -> None:
    judged = consistent_project(tmp_path / "in")
    member_of(judged.project, researcher_user, "researcher")
    client = client_for(researcher_user)
    client.force_login(researcher_user)
    url = reverse("datasets-export", kwargs={"slug": judged.project.slug})
    asked = {"split": "all", "min_annotators": "1"}
    assert client.post(url, asked).status_code == HTTPStatus.FOUND
    reused = client.post(url, asked, follow=True)
    snapshot = ExportSnapshot.objects.get()
    assert f"Export {snapshot.pk} has these parameters on unchanged data" in (
        reused.content.decode()
    )


def test_a_nearly_full_disk_refuses_new_exports_with_the_free_and_needed_space(
    tmp_path: Path, researcher_user: User, settings: Any
) -> None:
    judged = consistent_project(tmp_path / "in")
    member_of(judged.project, researcher_user, "researcher")
    settings.EXPORT_MIN_FREE_BYTES = 2**60  # 1 EiB: more than any disk has
    client = client_for(researcher_user)
    api = client.post(
        reverse("project-exports", kwargs={"slug": judged.project.slug}), {}, format="json"
    )
    assert api.status_code == HTTPStatus.INSUFFICIENT_STORAGE
    detail = api.json()["detail"]
    assert "free, and an export needs at least 1048576.0 TiB" in detail
    assert "EXPORT_MIN_FREE_BYTES" in detail and "nothing was started" in detail
    assert ExportSnapshot.objects.count() == 0

    client.force_login(researcher_user)
    page = client.post(
        reverse("datasets-export", kwargs={"slug": judged.project.slug}),
        {"split": "all", "min_annotators": "1"},
    )
    assert page.status_code == HTTPStatus.BAD_REQUEST
    assert "an export needs at least" in page.content.decode()
    assert ExportSnapshot.objects.count() == 0

    # A snapshot queued before the disk filled up fails before writing anything.
    settings.EXPORT_MIN_FREE_BYTES = 0
    queued = create_export(judged.project, {}, enqueue=False)
    settings.EXPORT_MIN_FREE_BYTES = 2**60
    failed = export_snapshot(queued.pk)
    assert failed is not None and failed.status == ExportSnapshot.Status.FAILED
    assert "an export needs at least" in failed.error
    target = Path(failed.path)
    assert not target.exists() and not target.with_name(target.name + ".partial").exists()
