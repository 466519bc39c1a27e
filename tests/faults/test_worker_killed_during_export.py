"""A Celery worker killed with SIGKILL in the middle of an export: the task is delivered
again, the export starts over cleanly and finishes once, in one snapshot."""

from __future__ import annotations

import hashlib
import json
import signal
from pathlib import Path
from typing import Any

import psutil
import pytest

from annotation.export import create_export
from annotation.models import ExportSnapshot
from annotation.tasks import export_snapshot_task
from config.celery_app import app
from scripts import stack
from tests.faults.big_project import build_judged_project
from tests.faults.conftest import app_env
from tests.faults.processes import start_worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)  # the worker sees committed rows only

JUDGMENTS = 15_000  # an export of a few seconds: long enough to be killed half-way


def snapshot_state(pk: int) -> tuple[str, float, Any]:
    row = ExportSnapshot.objects.values_list("status", "progress", "started_at").get(pk=pk)
    return row[0], row[1], row[2]


def running_half_way(pk: int, not_started_at: Any = None) -> bool:
    status, progress, started_at = snapshot_state(pk)
    return status == "running" and progress > 0 and started_at != not_started_at


def test_an_export_survives_its_worker_being_killed_twice(
    tmp_path: Path, media_root: Path, settings: Any, dedicated_redis: stack.RedisServer
) -> None:
    settings.EXPORT_ROOT = exports = tmp_path / "exports"
    project = build_judged_project("killed-export", JUDGMENTS, media_root)
    snapshot = create_export(project, {}, enqueue=False)
    env = app_env(dedicated_redis.url, media_root, EXPORT_ROOT=str(exports))
    with app.connection_for_write(dedicated_redis.url) as broker:
        export_snapshot_task.apply_async((snapshot.pk,), connection=broker)

    first = start_worker(env, tmp_path / "worker-1.log", pool="prefork")
    try:
        # 1. The pool process running the export dies (the kernel's OOM killer does this):
        # the worker's main process gives the task back to the queue and runs it again.
        wait_for(lambda: running_half_way(snapshot.pk), "the export to make progress")
        first_start = snapshot_state(snapshot.pk)[2]
        (pool_process,) = psutil.Process(first.process.pid).children()
        pool_process.send_signal(signal.SIGKILL)
        wait_for(
            lambda: running_half_way(snapshot.pk, first_start),
            "the export to start over after its pool process was killed",
        )
        # 2. The whole worker dies: the task waits in Redis, unacknowledged.
        first.kill()
    finally:
        first.stop()
    status, progress, _ = snapshot_state(snapshot.pk)
    assert (status, progress > 0) == ("running", True)
    target = Path(ExportSnapshot.objects.get(pk=snapshot.pk).path)
    assert target.with_name(target.name + ".partial").is_dir()  # left half-written
    assert not target.exists()

    # A new worker takes the unacknowledged task back once its visibility timeout passed.
    second = start_worker(
        {**env, "CELERY_VISIBILITY_TIMEOUT": "1"}, tmp_path / "worker-2.log", pool="solo"
    )
    try:
        wait_for(
            lambda: snapshot_state(snapshot.pk)[0] != "running",
            "the export to finish on the new worker",
            timeout=120,
        )
    finally:
        second.stop()

    assert ExportSnapshot.objects.count() == 1
    done = ExportSnapshot.objects.get()
    assert (done.status, done.progress, done.error) == ("done", 1.0, "")
    assert done.counts["kept_judgments"] == JUDGMENTS
    assert [path.name for path in exports.iterdir()] == [target.name]  # no .partial left
    manifest = json.loads((target / "manifest.json").read_text())
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert set(listed) == on_disk - {"manifest.json"}
    for path, entry in listed.items():
        data = (target / path).read_bytes()
        assert (entry["size"], entry["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert done.checksum == hashlib.sha256((target / "manifest.json").read_bytes()).hexdigest()
    train = (target / "train.json").read_text()
    assert len(json.loads(train)) == JUDGMENTS
    finished = [line for line in second.log_text().splitlines() if "succeeded in" in line]
    assert len(finished) == 1 and "'done'" in finished[0], second.log_text()[-3000:]
