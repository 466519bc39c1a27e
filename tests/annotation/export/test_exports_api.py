"""Export endpoints: start a snapshot (202), a real worker writes it, download the tar."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotation.export import create_export
from annotation.models import ExportSnapshot, User
from tests.annotation.intake.test_batch_processing import celery_worker
from tests.conftest import client_for
from tests.factories.projects import judged_project
from tests.factories.users import member_of


@pytest.fixture(autouse=True)
def export_root(tmp_path: Path, settings: Any) -> Path:
    root = tmp_path / "exports"
    settings.EXPORT_ROOT = root
    return root


def wait_until_finished(snapshot_id: int, seconds: float = 90) -> ExportSnapshot:
    deadline = time.monotonic() + seconds
    snapshot = ExportSnapshot.objects.get(pk=snapshot_id)
    while time.monotonic() < deadline and snapshot.status in ("queued", "running"):
        time.sleep(0.3)
        snapshot.refresh_from_db()
    return snapshot


@pytest.mark.django_db(transaction=True)
def test_researcher_starts_an_export_a_worker_writes_it_and_the_tar_matches_the_manifest(
    tmp_path: Path, media_root: Path, researcher_user: User, export_root: Path
) -> None:
    judged = judged_project(tmp_path / "in", train_groups=2, test_groups=1, annotators=2)
    member_of(judged.project, researcher_user, "researcher")
    client = client_for(researcher_user)
    url = reverse("project-exports", kwargs={"slug": judged.project.slug})

    response = client.post(url, {"split": "all", "min_annotators": 2}, format="json")

    assert response.status_code == HTTPStatus.ACCEPTED, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["download_url"] is None
    assert body["parameters"]["min_annotators"] == 2
    assert body["created_by"] == researcher_user.username
    early = client.get(reverse("export-download", kwargs={"pk": body["id"]}))
    assert early.status_code == HTTPStatus.CONFLICT and "not done" in early.json()["detail"]

    with celery_worker(media_root):
        snapshot = wait_until_finished(body["id"])
    assert snapshot.status == "done", snapshot.error
    assert Path(snapshot.path) == export_root / str(snapshot.pk)

    detail = client.get(reverse("export-detail", kwargs={"pk": snapshot.pk})).json()
    assert detail["checksum"] == snapshot.checksum and detail["progress"] == 1.0
    download = client.get(detail["download_url"])
    assert download.status_code == HTTPStatus.OK
    assert download["Content-Type"] == "application/x-tar"
    data = b"".join(download.streaming_content)  # type: ignore[attr-defined]
    assert len(data) == int(download["Content-Length"])
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        top = f"{judged.project.slug}-export-{snapshot.pk}"
        members = {m.name[len(top) + 1 :]: archive.extractfile(m) for m in archive.getmembers()}
        manifest_bytes = members.pop("manifest.json").read()  # type: ignore[union-attr]
        assert hashlib.sha256(manifest_bytes).hexdigest() == snapshot.checksum
        manifest = json.loads(manifest_bytes)
        assert set(members) == {entry["path"] for entry in manifest["files"]}
        for entry in manifest["files"]:
            content = members[entry["path"]].read()  # type: ignore[union-attr]
            assert hashlib.sha256(content).hexdigest() == entry["sha256"]

    listed = client.get(url).json()
    assert [row["id"] for row in listed["results"]] == [snapshot.pk]


@pytest.mark.django_db
def test_bad_export_parameters_get_400_with_every_problem(tmp_path: Path, admin_user: User) -> None:
    judged = judged_project(tmp_path / "in", train_groups=1, test_groups=1, annotators=1)
    url = reverse("project-exports", kwargs={"slug": judged.project.slug})
    response = client_for(admin_user).post(
        url, {"split": "dev", "min_annotators": 0, "created_from": "soon"}, format="json"
    )
    assert response.status_code == HTTPStatus.BAD_REQUEST
    where = {problem["where"] for problem in response.json()["problems"]}
    assert where == {"split", "min_annotators", "created_from"}
    assert ExportSnapshot.objects.count() == 0


@pytest.mark.django_db
def test_unknown_project_is_404(admin_user: User) -> None:
    url = reverse("project-exports", kwargs={"slug": "nope"})
    assert client_for(admin_user).post(url, {}, format="json").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.django_db
def test_export_hpd_command_writes_the_folder_and_prints_the_snapshot(tmp_path: Path) -> None:
    judged = judged_project(tmp_path / "in", train_groups=2, test_groups=1, annotators=2)
    out = io.StringIO()
    call_command(
        "export_hpd", "--project", judged.project.slug, "--out", str(tmp_path / "ds"),
        "--split", "train", stdout=out,
    )  # fmt: skip
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["splits"] == {
        "train": {"tasks": 2, "judgments": 2, "pairs": 12, "prompts": 2, "images": 8}
    }
    assert (tmp_path / "ds" / "train.json").exists() and not (
        tmp_path / "ds" / "test.json"
    ).exists()
    snapshot = ExportSnapshot.objects.get(pk=summary["snapshot"])
    assert snapshot.checksum == summary["checksum"]

    with pytest.raises(CommandError, match="not an empty folder"):
        call_command("export_hpd", "--project", judged.project.slug, "--out", str(tmp_path / "ds"))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("export_hpd", "--project", "nope", "--out", str(tmp_path / "x"))


@pytest.mark.django_db
def test_a_snapshot_whose_files_were_removed_answers_410(
    tmp_path: Path, researcher_user: User
) -> None:
    import shutil

    from annotation.export import export_snapshot

    judged = judged_project(tmp_path / "in", train_groups=1, test_groups=1, annotators=1)
    snapshot = create_export(judged.project, {}, enqueue=False)
    export_snapshot(snapshot.pk)
    shutil.rmtree(ExportSnapshot.objects.get(pk=snapshot.pk).path)
    member_of(judged.project, researcher_user, "researcher")
    response = client_for(researcher_user).get(
        reverse("export-download", kwargs={"pk": snapshot.pk})
    )
    assert response.status_code == HTTPStatus.GONE
