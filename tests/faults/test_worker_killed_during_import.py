"""A Celery worker killed with SIGKILL in the middle of an import: no batch, no row and,
once the job is retried, no image file is left of it; the retry imports it once."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.intake import create_import_job
from annotation.models import Batch, Image, ImportJob, User
from annotation.tasks import run_import_job
from config.celery_app import app
from scripts import stack
from tests.conftest import client_for
from tests.factories.batches import database_state, media_state, write_batch, zip_folder
from tests.faults.conftest import app_env
from tests.faults.processes import start_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # the worker sees committed rows only

GROUPS = 3000  # 6000 images: an import of several seconds, long enough to be killed in


def job_row(pk: int) -> tuple[str, str, int]:
    return ImportJob.objects.values_list("status", "stage", "images_stored").get(pk=pk)


def storing(status: str, stage: str, stored: int) -> bool:
    return (status, stage) == ("running", "storing images") and stored > 0


def test_an_import_whose_worker_is_killed_leaves_nothing_and_its_retry_succeeds(
    tmp_path: Path,
    media_root: Path,
    admin_user: User,
    dedicated_redis: stack.RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def send(job_id: int) -> None:  # the platform's queueing, to the dedicated broker
        with app.connection_for_write(dedicated_redis.url) as broker:
            run_import_job.apply_async((job_id,), connection=broker)

    monkeypatch.setattr("annotation.intake.import_jobs.enqueue_import_job", send)
    archive = zip_folder(write_batch(tmp_path / "batch", groups=GROUPS), tmp_path / "big.zip")
    before = (database_state(), media_state(media_root))
    job = create_import_job(
        SimpleUploadedFile("big.zip", archive.read_bytes()), "killed-import", uploaded_by=admin_user
    )
    env = app_env(
        dedicated_redis.url, media_root, IMPORT_UPLOAD_ROOT=str(settings.IMPORT_UPLOAD_ROOT)
    )

    first = start_worker(env, tmp_path / "worker-1.log")
    try:
        wait_for(
            lambda: storing(*job_row(job.pk)),
            "the import to store its first images",
            timeout=180,
        )
        first.kill()  # the whole worker, mid-copy: no rollback runs
    finally:
        first.stop()
    status, stage, stored = job_row(job.pk)
    assert (status, stage) == ("running", "storing images") and 0 < stored < 2 * GROUPS
    assert database_state() == before[0]  # its transaction died with it
    assert media_state(media_root) != before[1]  # the files it had written are still there
    assert Path(job.source_path).exists()  # kept for the retry

    retried = client_for(admin_user).post(f"/api/v1/imports/{job.pk}/retry/")

    assert retried.status_code == HTTPStatus.ACCEPTED, retried.content
    assert retried.json()["status"] == "queued"
    assert (database_state(), media_state(media_root)) == before  # nothing left behind

    # The killed worker's message comes back too (visibility timeout): run once all the same.
    second = start_worker(
        {**env, "CELERY_VISIBILITY_TIMEOUT": "1"}, tmp_path / "worker-2.log", pool="solo"
    )
    try:
        wait_for(
            lambda: job_row(job.pk)[0] not in ("queued", "running"),
            "the retried import to finish",
            timeout=300,
        )
    finally:
        second.stop()

    done: Any = ImportJob.objects.get(pk=job.pk)
    assert (done.status, done.attempts, done.problems) == ("succeeded", 2, [])
    assert (done.images_stored, done.files_checked) == (2 * GROUPS, 2 * GROUPS)
    assert Batch.objects.get().pk == done.batch_id
    assert Image.objects.count() == 2 * GROUPS
    files = [path for path in media_state(media_root) if path.endswith(".png")]
    assert files == sorted(image.file for image in Image.objects.all())
    assert not Path(job.source_path).parent.exists()  # the stored upload is gone
