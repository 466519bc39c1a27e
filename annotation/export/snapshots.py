"""Export snapshots: create one, run one (once), and the files it is made of."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from annotation.export.hpd_files import ExportFailed
from annotation.export.manifest import MANIFEST_NAME
from annotation.export.params import ExportParams, ExportParamsError
from annotation.export.reuse import (
    ExportRefused,
    check_export_space,
    export_data_version,
    reusable_snapshot,
)
from annotation.export.writer import write_export
from annotation.models import ExportSnapshot, Project, User
from core.progress import Progress
from core.queueing import enqueue

logger = logging.getLogger(__name__)

# The Celery task (annotation/tasks.py) that runs export_snapshot, by its registered name.
EXPORT_SNAPSHOT_TASK = "annotation.export_snapshot"

# pg_try_advisory_lock(class, id): one running export per snapshot, across workers.
EXPORT_LOCK_CLASS = 0x48504445  # "HPDE"
# pg_advisory_xact_lock(class, project id): one export request of a project at a time,
# so two identical requests made at once start one snapshot.
REQUEST_LOCK_CLASS = 0x48504452  # "HPDR"
LOCK_WAIT_S = 3.0


def create_export(
    project: Project,
    parameters: dict[str, Any],
    *,
    created_by: User | None = None,
    out: Path | None = None,
    enqueue: bool = True,
    data_version: str | None = None,
) -> ExportSnapshot:
    """Validate the parameters and record a queued snapshot.

    Its files go to `out` when given (a folder that must not exist yet, or be empty),
    otherwise to EXPORT_ROOT/<id>. With `enqueue`, the Celery task
    annotation.export_snapshot is queued after the commit. `data_version` is the
    snapshot's (annotation/export/reuse.py), computed when not given. Raises
    ExportParamsError (every problem listed) and then writes nothing.
    """
    params = ExportParams.from_json(parameters)
    data_version = data_version or export_data_version(project, params)
    if out is not None:
        out = out.resolve()
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise ExportParamsError(
                [f"{out} already exists and is not an empty folder; choose a new folder"]
            )
    with transaction.atomic():
        snapshot = ExportSnapshot.objects.create(
            project=project,
            parameters=params.as_json(),
            created_by=created_by,
            path="",
            data_version=data_version,
        )
        snapshot.path = str(out or Path(settings.EXPORT_ROOT) / str(snapshot.pk))
        snapshot.save(update_fields=["path"])
        if enqueue:
            transaction.on_commit(lambda: enqueue_export(snapshot.pk))
    return snapshot


@dataclass(frozen=True)
class ExportStart:
    """A requested export: a new snapshot, or (`reused`) the existing one with the same
    parameters on the same data."""

    snapshot: ExportSnapshot
    reused: bool


def start_export(
    project: Project, parameters: dict[str, Any], *, created_by: User | None = None
) -> ExportStart:
    """A researcher's export request (the page and the API): the existing snapshot when
    one has identical parameters on unchanged data (annotation/export/reuse.py),
    otherwise a new queued one under EXPORT_ROOT. Raises ExportParamsError (bad
    parameters) or ExportRefused (the disk is nearly full); then nothing is written."""
    params = ExportParams.from_json(parameters)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [REQUEST_LOCK_CLASS, project.pk])
        version = export_data_version(project, params)
        existing = reusable_snapshot(project, version)
        if existing is not None:
            return ExportStart(snapshot=existing, reused=True)
        check_export_space()
        snapshot = create_export(project, parameters, created_by=created_by, data_version=version)
    return ExportStart(snapshot=snapshot, reused=False)


def enqueue_export(snapshot_id: int) -> None:
    """Queue a recorded snapshot's export. When the broker is unreachable the snapshot
    stays `queued`, and the periodic sweep (annotation.sweep_queued_exports) queues it
    once Redis answers again: a request made during an outage is not lost."""
    if not enqueue(EXPORT_SNAPSHOT_TASK, snapshot_id):
        logger.info(
            "export %s recorded; it is queued by the sweep when the broker answers", snapshot_id
        )


def queued_snapshot_ids(older_than: timedelta) -> list[int]:
    """Snapshots still `queued` that were created more than `older_than` ago: their task
    was never sent (broker down) or is still waiting in the queue. Sending one again is
    harmless: export_snapshot runs a snapshot once."""
    cutoff = timezone.now() - older_than
    return list(
        ExportSnapshot.objects.filter(status=ExportSnapshot.Status.QUEUED, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


class _SnapshotProgress(Progress):
    """Records progress on the snapshot row about every 2% (never on every judgment).

    The export reads in a read-only transaction, so the row is updated through a
    second, autocommit connection.
    """

    def __init__(self, snapshot_id: int, outer: Progress | None):
        self.snapshot_id = snapshot_id
        self.outer = outer or Progress()
        self.total = 0
        self.done = 0
        self.last = 0.0
        self.side: BaseDatabaseWrapper | None = None

    def start(self, stage: str, total: int) -> None:
        self.total = total
        self.outer.start(stage, total)

    def advance(self, count: int = 1) -> None:
        self.done += count
        self.outer.advance(count)
        share = min(1.0, self.done / self.total) if self.total else 1.0
        if share - self.last >= 0.02:
            self.last = share
            if self.side is None:
                self.side = connections.create_connection(DEFAULT_DB_ALIAS)
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ExportSnapshot._meta.db_table} SET progress = %s WHERE id = %s",
                    [round(share * 0.99, 4), self.snapshot_id],
                )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None


def export_snapshot(snapshot_id: int, progress: Progress | None = None) -> ExportSnapshot | None:
    """Run a queued snapshot's export; idempotent and at most one run at a time.

    Takes a session advisory lock on the snapshot: a second worker (a redelivered task)
    returns None while one runs (after LOCK_WAIT_S). A snapshot left `running` by a
    worker that died is run again from the start, its partial files removed first. A
    snapshot already done or failed is returned unchanged. Files are written to a sibling
    `.partial` folder and renamed into place when complete, so the snapshot's folder is
    either absent or whole. On failure the
    partial folder is removed and the snapshot marked failed with the reason.
    """
    if not _lock_snapshot(snapshot_id):
        return None
    try:
        snapshot = ExportSnapshot.objects.select_related("project").filter(pk=snapshot_id).first()
        if snapshot is None or snapshot.status in (
            ExportSnapshot.Status.DONE,
            ExportSnapshot.Status.FAILED,
        ):
            return snapshot
        return _run(snapshot, progress)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [EXPORT_LOCK_CLASS, snapshot_id])


def _lock_snapshot(snapshot_id: int) -> bool:
    """Take the snapshot's advisory lock, waiting up to LOCK_WAIT_S for it.

    A worker killed mid-export holds the lock until PostgreSQL notices its connection is
    gone (usually within milliseconds); its redelivered task waits for that instead of
    giving up and leaving the snapshot `running` for good. A live run holds the lock for
    the whole export, so a duplicate still gives up after the wait.
    """
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [EXPORT_LOCK_CLASS, snapshot_id])
            (locked,) = cursor.fetchone() or (False,)
        if locked or time.monotonic() >= deadline:
            return bool(locked)
        time.sleep(0.2)


def _run(snapshot: ExportSnapshot, progress: Progress | None) -> ExportSnapshot:
    ExportSnapshot.objects.filter(pk=snapshot.pk).update(
        status=ExportSnapshot.Status.RUNNING, started_at=timezone.now(), progress=0.0
    )
    target = Path(snapshot.path)
    partial = target.with_name(target.name + ".partial")
    try:
        params = ExportParams.from_json(snapshot.parameters)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise ExportFailed(f"{target} already holds files; remove them or export elsewhere")
        check_export_space(target.parent)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        tracker = _SnapshotProgress(snapshot.pk, progress)
        try:
            result = write_export(snapshot.project, params, partial, tracker)
        finally:
            tracker.close()
        if target.exists():
            target.rmdir()
        partial.rename(target)
    except (ExportFailed, ExportParamsError, ExportRefused, OSError) as exc:
        shutil.rmtree(partial, ignore_errors=True)
        ExportSnapshot.objects.filter(pk=snapshot.pk).update(
            status=ExportSnapshot.Status.FAILED, error=str(exc), finished_at=timezone.now()
        )
        snapshot.refresh_from_db()
        return snapshot
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        ExportSnapshot.objects.filter(pk=snapshot.pk).update(
            status=ExportSnapshot.Status.FAILED,
            error="the export stopped unexpectedly; see the worker log and start it again",
            finished_at=timezone.now(),
        )
        raise
    ExportSnapshot.objects.filter(pk=snapshot.pk).update(
        status=ExportSnapshot.Status.DONE,
        progress=1.0,
        checksum=result.checksum,
        counts=result.counts,
        finished_at=timezone.now(),
    )
    snapshot.refresh_from_db()
    return snapshot


def snapshot_files(snapshot: ExportSnapshot) -> list[tuple[str, Path]]:
    """(relative path, absolute path) of every file of a done snapshot, manifest last."""
    import json

    root = Path(snapshot.path)
    manifest = json.loads((root / MANIFEST_NAME).read_text(encoding="utf-8"))
    files = [(entry["path"], root / entry["path"]) for entry in manifest["files"]]
    return [*files, (MANIFEST_NAME, root / MANIFEST_NAME)]
