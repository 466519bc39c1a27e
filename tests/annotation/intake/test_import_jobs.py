"""Import jobs: an upload answered 202, imported by a worker (run here in the test's
process) with its progress visible on GET /api/v1/imports/{id}/, cancelled, or refused."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.management import CommandError, call_command
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.intake import create_import_job, queued_import_job_ids, run_import_job
from annotation.intake.importing import IMPORT_LOCK_KEY
from annotation.models import Batch, ImportJob, User
from core.progress import Progress
from tests.annotation.intake.test_batches_api import bad_zip, upload, valid_zip
from tests.conftest import client_for
from tests.factories.batches import database_state, media_state

SLUG = "foxes"


def stored_uploads() -> list[str]:
    root = Path(settings.IMPORT_UPLOAD_ROOT)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


class Watching(Progress):
    """Reads the job through its endpoint at every step of the import, as a page would."""

    def __init__(self, client: APIClient, url: str, on_step: Any = None):
        self.client, self.url, self.on_step = client, url, on_step
        self.seen: list[dict[str, Any]] = []

    def advance(self, count: int = 1) -> None:
        self.seen.append(self.client.get(self.url).json())
        if self.on_step is not None:
            self.on_step(self.seen[-1])


@pytest.mark.django_db(transaction=True)  # the counters are written on a second connection
def test_an_upload_is_answered_202_and_its_progress_is_visible_while_it_imports(
    tmp_path: Path, admin_user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("annotation.intake.import_jobs.PROGRESS_EVERY_S", 0.0)
    admin = client_for(admin_user)
    archive = valid_zip(tmp_path)

    response = upload(admin, archive, judgments_per_task=2)

    assert response.status_code == HTTPStatus.ACCEPTED, response.content
    job = response.json()
    assert (job["status"], job["project"], job["source_name"], job["byte_size"]) == (
        "queued",
        SLUG,
        "upload.zip",
        len(archive),
    )
    assert job["detail"] == "Waiting for a worker to start the import."
    assert (job["files_checked"], job["images_stored"], job["rows_written"]) == (0, 0, 0)
    assert database_state()["Batch"] == 0
    assert stored_uploads() == [str(job["id"]), f"{job['id']}/upload.zip"]

    watching = Watching(admin, job["url"])
    run_import_job(job["id"], watching)

    stages = [(seen["status"], seen["stage"]) for seen in watching.seen]
    assert set(stages) == {
        ("running", "validating images"),
        ("running", "storing images"),
        ("running", "writing rows"),
    }
    checked = [
        seen["files_checked"] for seen in watching.seen if seen["stage"] == "validating images"
    ]
    assert checked == sorted(checked) and checked[-1] >= 3  # 4 images, seen one step late
    assert {seen["files_total"] for seen in watching.seen} == {4}
    stored = [seen["images_stored"] for seen in watching.seen if seen["stage"] == "storing images"]
    assert stored == [0, 1, 2, 3]
    rows = [seen["rows_written"] for seen in watching.seen if seen["stage"] == "writing rows"]
    assert rows == [0, 2, 6, 8] and watching.seen[-1]["rows_total"] == 12  # 2+4+2+4 rows
    done = admin.get(job["url"]).json()
    assert (done["status"], done["batch"], done["stage"]) == (
        "succeeded",
        Batch.objects.get().pk,
        "writing rows",
    )
    assert (done["files_checked"], done["images_stored"], done["rows_written"]) == (4, 4, 12)
    assert done["sha256"] == hashlib.sha256(archive).hexdigest()
    assert done["summary"]["tasks"] == 2 and done["summary"]["judgments_per_task"] == 2
    assert done["attempts"] == 1 and done["finished_at"] is not None
    assert stored_uploads() == []  # removed once the job ended
    redelivered = run_import_job(job["id"])  # a redelivery changes nothing
    assert redelivered is not None and redelivered.status == "succeeded"
    assert Batch.objects.count() == 1


@pytest.mark.django_db
def test_a_rejected_upload_fails_its_job_with_every_problem_and_keeps_nothing(
    tmp_path: Path, admin_user: User, media_root: Path
) -> None:
    admin = client_for(admin_user)
    before = (database_state(), media_state(media_root))
    job = upload(admin, bad_zip(tmp_path), name="bad.zip").json()

    run_import_job(job["id"])

    failed = admin.get(job["url"]).json()
    assert failed["status"] == "failed"
    assert [problem["where"] for problem in failed["problems"]] == [
        "img/0000-1.png",
        "manifest.jsonl line 2",
    ]
    assert failed["detail"].startswith("2 problem(s) found; nothing was imported.")
    assert (database_state(), media_state(media_root)) == before
    assert stored_uploads() == []
    retried = admin.post(f"{job['url']}retry/")
    assert retried.status_code == HTTPStatus.CONFLICT
    assert retried.json() == {
        "detail": f"import {job['id']} has already failed; upload the archive again to "
        "import it anew"
    }


@pytest.mark.django_db
def test_a_queued_import_is_cancelled_at_once_and_never_runs(
    tmp_path: Path, admin_user: User, media_root: Path
) -> None:
    admin = client_for(admin_user)
    job = upload(admin, valid_zip(tmp_path)).json()

    cancelled = admin.post(f"{job['url']}cancel/")

    assert cancelled.status_code == HTTPStatus.OK
    assert (cancelled.json()["status"], cancelled.json()["detail"]) == (
        "cancelled",
        "Cancelled; nothing was imported.",
    )
    assert stored_uploads() == []
    late = run_import_job(job["id"])  # its task, delivered later
    assert late is not None and late.status == "cancelled"
    assert database_state()["Batch"] == 0 and media_state(media_root) == []
    again = admin.post(f"{job['url']}cancel/")
    assert again.status_code == HTTPStatus.CONFLICT
    assert again.json()["detail"] == (
        f"import {job['id']} has already cancelled; there is nothing to cancel"
    )


@pytest.mark.django_db(transaction=True)  # the cancel comes from another connection
def test_a_running_import_cancelled_half_way_through_storing_keeps_nothing(
    tmp_path: Path, admin_user: User, media_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("annotation.intake.import_jobs.PROGRESS_EVERY_S", 0.0)
    admin = client_for(admin_user)
    before = (database_state(), media_state(media_root))
    job = upload(admin, valid_zip(tmp_path)).json()
    answers: list[Any] = []

    def cancel_once(seen: dict[str, Any]) -> None:
        if seen["images_stored"] == 2 and not answers:
            # Another request, on its own connection, as a manager's click would be.
            def click() -> None:
                answers.append(client_for(admin_user).post(f"{job['url']}cancel/"))
                connection.close()

            thread = threading.Thread(target=click)
            thread.start()
            thread.join()

    run_import_job(job["id"], Watching(admin, job["url"], cancel_once))

    [answer] = answers
    assert answer.status_code == HTTPStatus.OK
    assert (answer.json()["status"], answer.json()["cancel_requested"]) == ("running", True)
    assert (
        answer.json()["detail"]
        == "Cancelling: the import stops at its next step and keeps nothing."
    )
    ended = ImportJob.objects.get(pk=job["id"])
    # Stopped at the step after the cancel, one image short of the end.
    assert (ended.status, ended.images_stored, ended.images_total) == ("cancelled", 3, 4)
    assert (database_state(), media_state(media_root)) == before
    assert stored_uploads() == []


@pytest.mark.django_db
def test_the_stored_upload_is_moved_from_the_temporary_file_not_read(
    tmp_path: Path, admin_user: User
) -> None:
    assert settings.FILE_UPLOAD_HANDLERS == [
        "django.core.files.uploadhandler.TemporaryFileUploadHandler"
    ]
    archive = valid_zip(tmp_path)
    temporary = TemporaryUploadedFile("mine.zip", "application/zip", len(archive), None)
    temporary.write(archive)
    temporary.flush()
    was_at = Path(temporary.temporary_file_path())

    job = create_import_job(temporary, SLUG, uploaded_by=admin_user)

    assert not was_at.exists()
    assert Path(job.source_path) == Path(settings.IMPORT_UPLOAD_ROOT) / str(job.pk) / "mine.zip"
    assert Path(job.source_path).read_bytes() == archive
    temporary.close()  # what Django does at the end of the request: no error


@pytest.mark.django_db
def test_bad_options_are_refused_before_anything_is_stored(
    tmp_path: Path, admin_user: User
) -> None:
    response = upload(client_for(admin_user), valid_zip(tmp_path), slug="x" * 65)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert ImportJob.objects.count() == 0 and stored_uploads() == []


@pytest.mark.django_db
def test_the_retry_command_names_what_it_refuses(tmp_path: Path, admin_user: User) -> None:
    admin = client_for(admin_user)
    job = upload(admin, valid_zip(tmp_path)).json()
    run_import_job(job["id"])

    with pytest.raises(CommandError, match=r"import \d+ has already succeeded \(batch \d+\)"):
        call_command("retry_import", str(job["id"]))
    with pytest.raises(CommandError, match="no import job 999999; check the id"):
        call_command("retry_import", "999999")


@pytest.mark.django_db
def test_the_same_archive_uploaded_twice_is_imported_once(tmp_path: Path, admin_user: User) -> None:
    admin = client_for(admin_user)
    archive = valid_zip(tmp_path)
    first, second = (upload(admin, archive).json() for _ in range(2))

    run_import_job(first["id"])
    run_import_job(second["id"])

    assert admin.get(first["url"]).json()["status"] == "succeeded"
    again = admin.get(second["url"]).json()
    assert again["status"] == "failed"
    assert {problem["where"] for problem in again["problems"]} == {
        "img/0000-0.png",
        "img/0000-1.png",
        "img/0001-0.png",
        "img/0001-1.png",
    }
    assert all(
        problem["message"].startswith(f"is already in project {SLUG!r} (batch ")
        for problem in again["problems"]
    )
    assert Batch.objects.count() == 1


@pytest.mark.django_db
def test_the_sweep_finds_jobs_left_queued_since_before_its_interval(
    tmp_path: Path, admin_user: User
) -> None:
    admin = client_for(admin_user)
    old, fresh, ended = (upload(admin, valid_zip(tmp_path, seed=n)).json() for n in (1, 2, 3))
    an_hour_ago = timezone.now() - timedelta(hours=1)
    ImportJob.objects.filter(pk__in=[old["id"], ended["id"]]).update(created_at=an_hour_ago)
    run_import_job(ended["id"])

    assert queued_import_job_ids(timedelta(minutes=5)) == [old["id"]]
    assert fresh["status"] == "queued"


def left_by_a_killed_run(job_id: int, media_root: Path) -> Path:
    """What a worker killed while storing leaves: the job running, an image file named in
    the job's journal, no row."""
    job = ImportJob.objects.get(pk=job_id)
    ImportJob.objects.filter(pk=job_id).update(status="running", attempts=1)
    leftover = media_root / "images/ab/cd/abcd.png"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half an import")
    (Path(job.source_path).parent / ".media-journal").write_text("images/ab/cd/abcd.png\n")
    return leftover


@pytest.mark.django_db
def test_cancelling_a_killed_import_removes_what_it_left(
    tmp_path: Path, admin_user: User, media_root: Path
) -> None:
    admin = client_for(admin_user)
    job = upload(admin, valid_zip(tmp_path)).json()
    left_by_a_killed_run(job["id"], media_root)

    cancelled = admin.post(f"{job['url']}cancel/")

    assert cancelled.status_code == HTTPStatus.OK
    assert cancelled.json()["status"] == "cancelled"
    assert media_state(media_root) == [] and stored_uploads() == []


@pytest.mark.django_db
def test_a_killed_import_cancelled_while_another_stores_files_ends_on_the_worker(
    tmp_path: Path, admin_user: User, media_root: Path
) -> None:
    admin = client_for(admin_user)
    job = upload(admin, valid_zip(tmp_path)).json()
    leftover = left_by_a_killed_run(job["id"], media_root)
    other = connections.create_connection(DEFAULT_DB_ALIAS)  # another import's connection
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [IMPORT_LOCK_KEY])

        answer = admin.post(f"{job['url']}cancel/").json()

        assert (answer["status"], answer["cancel_requested"]) == ("running", True)
        assert leftover.exists()  # not removed under the other import's feet
    finally:
        other.close()  # its lock goes with it
    ended = run_import_job(job["id"])
    assert ended is not None and ended.status == "cancelled"
    assert media_state(media_root) == [] and stored_uploads() == []
