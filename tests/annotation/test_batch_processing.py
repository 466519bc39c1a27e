"""After an import commits: post-processing, by a real Celery worker on the real Redis."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from annotation.models import Batch, Prompt
from annotation.services.batch_processing import process_batch, unprocessed_batch_ids
from annotation.services.importing import import_batch
from tests.annotation.factories import write_batch, write_manifest
from tests.services import child_env


@pytest.mark.django_db
def test_processing_fills_cleaned_text_once_and_marks_the_batch_ready(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "b", groups=1)
    lines = [
        {
            "prompt": "  a  fox\tin   snow ",
            "images": [{"path": "img/0000-0.png"}, {"path": "img/0000-1.png"}],
        }
    ]
    write_manifest(folder, lines)
    summary = import_batch(folder, "p")
    assert unprocessed_batch_ids() == [summary.batch]

    assert process_batch(summary.batch) is True
    assert Prompt.objects.get().cleaned_text == "a fox in snow"
    assert Batch.objects.get().status == Batch.Status.READY
    assert unprocessed_batch_ids() == []

    Prompt.objects.update(cleaned_text="edited by an admin")
    assert process_batch(summary.batch) is False
    assert Prompt.objects.get().cleaned_text == "edited by an admin"


@pytest.mark.django_db
def test_processing_a_missing_batch_does_nothing() -> None:
    assert process_batch(987654) is False


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_processes_the_batch_queued_at_commit(
    tmp_path: Path, media_root: Path
) -> None:
    summary = import_batch(write_batch(tmp_path / "b", groups=2), "queued")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config.celery_app",
            "worker",
            "-Q",
            "default",
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "-l",
            "warning",
        ],
        env=child_env(MEDIA_ROOT=str(media_root)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status: str = Batch.Status.IMPORTED
        while time.monotonic() < deadline and status != Batch.Status.READY:
            time.sleep(0.3)
            status = Batch.objects.get(pk=summary.batch).status
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else ""
    finally:
        worker.terminate()
        output, _ = worker.communicate(timeout=30)
    assert status == Batch.Status.READY, output
    assert set(Prompt.objects.values_list("cleaned_text", flat=True)) == {
        "a red fox in the snow, number 0",
        "a red fox in the snow, number 1",
    }
