"""After an import commits: post-processing, by a real Celery worker on the real Redis."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from annotation.intake.batch_processing import process_batch, unprocessed_batch_ids
from annotation.intake.importing import import_batch
from annotation.models import Batch, Prompt
from annotation.tasks import sweep_unprocessed_batches
from tests.factories.batches import write_batch, write_manifest
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


@contextmanager
def celery_worker(media_root: Path) -> Iterator[subprocess.Popen[str]]:
    """A real worker on the default queue, against the test database and Redis."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "-Q", "default",
         "--pool", "solo", "--without-heartbeat", "--without-gossip", "--without-mingle",
         "-l", "warning"],
        env=child_env(MEDIA_ROOT=str(media_root)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        yield worker
    finally:
        worker.terminate()
        worker.communicate(timeout=30)


def wait_until_ready(batch_id: int, worker: subprocess.Popen[str], seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    status: str = Batch.Status.IMPORTED
    while time.monotonic() < deadline and status != Batch.Status.READY:
        assert worker.poll() is None, "the worker died"
        time.sleep(0.3)
        status = Batch.objects.get(pk=batch_id).status
    return status


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_processes_the_batch_queued_at_commit(
    tmp_path: Path, media_root: Path
) -> None:
    summary = import_batch(write_batch(tmp_path / "b", groups=2), "queued")

    with celery_worker(media_root) as worker:
        assert wait_until_ready(summary.batch, worker) == Batch.Status.READY

    assert set(Prompt.objects.values_list("cleaned_text", flat=True)) == {
        "a red fox in the snow, number 0",
        "a red fox in the snow, number 1",
    }


@pytest.mark.django_db(transaction=True)
def test_an_import_while_redis_is_down_succeeds_and_the_sweep_queues_it_later(
    tmp_path: Path, media_root: Path
) -> None:
    folder = write_batch(tmp_path / "b", groups=2, seed=3)
    with socket.socket() as probe:  # a port nothing listens on: the broker is "down"
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]

    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "import_batch", str(folder), "--project", "outage"],
        env=child_env(MEDIA_ROOT=str(media_root), REDIS_URL=f"redis://127.0.0.1:{dead_port}/0"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.monotonic() - started

    assert result.returncode == 0, result.stderr
    batch_id = json.loads(result.stdout.strip().splitlines()[-1])["batch"]
    warnings = [line for line in result.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, result.stderr  # logged once, clearly
    assert f"Redis at redis://127.0.0.1:{dead_port}/0 is unreachable" in warnings[0]
    assert "background work (batch processing, exports, scoring) is kept" in warnings[0]
    assert f"batch {batch_id} imported; its processing is queued by the sweep" in result.stderr
    assert seconds < 60, "a broker outage must not stall an import"
    assert Batch.objects.get(pk=batch_id).status == Batch.Status.IMPORTED

    # Redis is back (the test run's own): beat's sweep queues what was missed.
    assert sweep_unprocessed_batches.delay() is not None
    with celery_worker(media_root) as worker:
        assert wait_until_ready(batch_id, worker) == Batch.Status.READY
