"""The learning loop with real processes: Celery beat reading its schedule from the
database, a real worker (default and gpu queues) on the real Redis, and a worker's pool
process SIGKILLed mid-training."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from annotation.models import ExportSnapshot
from scoring.models import ModelVersion
from tests.services import child_env
from tests.training.pipeline_support import grey_project, tiny_policy, training_env

__all__ = ["training_env"]
from training import runner
from training.models import TrainingRun
from training.services.cycle import start_cycle
from training.services.schedule import SCHEDULE_NAME, set_cycle_schedule

T = TypeVar("T")
CELERY = [sys.executable, "-m", "celery", "-A", "config.celery_app"]
# Enough steps after the first checkpoint (step 5) for the kill to land mid-training.
STEPS = 40


@contextmanager
def celery_processes(env: dict[str, str], log: Path, *, beat: bool) -> Iterator[list[Any]]:
    """A prefork worker with one pool process on the default and gpu queues (and beat),
    logging to `log`; stopped (and its log shown on failure) at the end."""
    handle = log.open("w")
    worker = [*CELERY, "worker", "-Q", "default,gpu", "--pool", "prefork", "--concurrency", "1",
              "--without-heartbeat", "--without-gossip", "--without-mingle",
              "-l", "info"]  # fmt: skip
    beat_command = [*CELERY, "beat", "-l", "info", "--max-interval", "1"]
    commands = [worker, beat_command] if beat else [worker]
    processes = [
        subprocess.Popen(command, env=env, stdout=handle, stderr=subprocess.STDOUT)
        for command in commands
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        handle.close()


def wait_for(check: Callable[[], T | None], log: Path, seconds: float = 240) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value is not None:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting; the worker's log:\n{log.read_text()[-6000:]}")


def finished_run(project_id: int) -> Callable[[], TrainingRun | None]:
    def check() -> TrainingRun | None:
        return (
            TrainingRun.objects.filter(project_id=project_id)
            .exclude(status__in=TrainingRun.LIVE)
            .first()
        )

    return check


@pytest.mark.django_db(transaction=True)
def test_beat_and_a_real_worker_produce_a_registered_model_version(
    tmp_path: Path, media_root: Path, training_env: dict[str, str]
) -> None:
    grey = grey_project(tmp_path)
    tiny_policy(grey.project, min_new_judgments=1)
    set_cycle_schedule(15, True)
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.filter(name=SCHEDULE_NAME).update(interval=every_second)
    env = child_env(MEDIA_ROOT=str(media_root), **training_env)
    log = tmp_path / "celery.log"

    with celery_processes(env, log, beat=True):
        run = wait_for(finished_run(grey.project.pk), log)
        time.sleep(2)  # beat fires twice more: the project is not due again

    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert run.trigger == TrainingRun.Trigger.SCHEDULE
    assert TrainingRun.objects.count() == 1
    version = ModelVersion.objects.get()
    assert run.candidate == version and version.metrics["test_accuracy"] is not None
    assert run.final_step == 6 and run.resumed_from_step is None
    assert "training.start_due_cycles" in log.read_text()


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_training_resumes_from_its_checkpoint_and_finishes_once(
    tmp_path: Path, media_root: Path, training_env: dict[str, str]
) -> None:
    grey = grey_project(tmp_path)
    # Data loader processes: a pool process (daemonic) trains in a `python -m training` child.
    tiny_policy(grey.project, steps=STEPS, checkpoint_every=5, workers=2)
    env = child_env(MEDIA_ROOT=str(media_root), TRAINING_LEASE_SECONDS="3", **training_env)
    log = tmp_path / "celery.log"

    with celery_processes(env, log, beat=False):
        started = start_cycle(grey.project, force=True)  # queued on the gpu queue at commit
        assert started.run is not None
        run_id, out_dir = started.run.pk, Path(started.run.out_dir)
        checkpoint = out_dir / "checkpoints" / "latest.pt"
        wait_for(lambda: True if checkpoint.exists() else None, log)
        training = TrainingRun.objects.get(pk=run_id)
        holder = training.lease_holder
        assert training.status == TrainingRun.Status.TRAINING, (training.error, log.read_text())
        pool_process = int(holder.rsplit(":", 1)[1])
        os.kill(pool_process, signal.SIGKILL)  # as the kernel's OOM killer would
        killed_at = runner.last_logged_step(out_dir / "metrics.jsonl") or 0
        run = wait_for(finished_run(grey.project.pk), log)

    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert killed_at < STEPS, "the kill came after training had finished"
    assert run.lease_holder == "" and run.final_step == STEPS
    # Redelivered to a new pool process, which resumed from the checkpoint, not step 0.
    assert run.resumed_from_step is not None and 5 <= run.resumed_from_step <= killed_at + 5
    # Had it started over, steps 1.. would be logged twice; each step is logged once.
    steps = [row["step"] for row in runner.read_metrics(out_dir / "metrics.jsonl")]
    assert steps == list(range(1, STEPS + 1))
    # Finished once: one snapshot, one registered version, one run.
    assert ExportSnapshot.objects.filter(project=grey.project).count() == 1
    assert ModelVersion.objects.count() == 1 and run.candidate == ModelVersion.objects.get()
    assert TrainingRun.objects.count() == 1
    assert "WorkerLostError" in log.read_text() or "SIGKILL" in log.read_text()
    assert (out_dir / "training.log").read_text().count(f'"step": {STEPS}') == 1  # one summary
