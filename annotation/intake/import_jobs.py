"""Import jobs: an upload stored on disk, answered at once, imported by a Celery worker.

The request only checks the options and moves the uploaded file (already streamed to a
temporary file by Django) into IMPORT_UPLOAD_ROOT/<job id>/; the worker runs
import_batch on it with the same all-or-nothing guarantee, counting its progress on the
job's row. The stored upload is removed once the job ends (succeeded, failed or
cancelled); a job whose worker was killed keeps it, so it can be retried.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.move import file_move_safe
from django.core.files.uploadedfile import UploadedFile
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F
from django.utils import timezone

from annotation.intake.checked_upload import CHECKING_STAGE, STORING_STAGE, WRITING_STAGE
from annotation.intake.import_summary import ImportSummary
from annotation.intake.importing import IMPORT_LOCK_KEY, import_batch, import_option_problems
from annotation.intake.media import StorageUnavailable, journalled, remove_journalled
from annotation.intake.problems import BatchRejected, Problem
from annotation.models import Image, ImportJob, Split, User
from core.progress import Progress
from core.queueing import enqueue

logger = logging.getLogger(__name__)

# The Celery task (annotation/tasks.py) that runs run_import_job, by its registered name.
RUN_IMPORT_JOB_TASK = "annotation.run_import_job"

# pg_try_advisory_lock(class, id): one run of a job at a time, across workers.
JOB_LOCK_CLASS = 0x4850444A  # "HPDJ"
LOCK_WAIT_S = 3.0
JOURNAL_NAME = ".media-journal"
# The job's row is updated at most this often while a stage advances.
PROGRESS_EVERY_S = 0.5

# Stage -> the job's (total, done) counters.
COUNTERS = {
    CHECKING_STAGE: ("files_total", "files_checked"),
    STORING_STAGE: ("images_total", "images_stored"),
    WRITING_STAGE: ("rows_total", "rows_written"),
}
RESET_COUNTERS = {field: 0 for pair in COUNTERS.values() for field in pair}


class ImportJobRefused(Exception):
    """A cancel or retry that cannot be done in the job's state; the message says why."""


class ImportCancelled(Exception):
    """Raised inside a running import when its job was asked to stop."""


def create_import_job(
    upload: UploadedFile,
    project_slug: str,
    *,
    split: str = Split.TRAIN,
    judgments_per_task: int | None = None,
    max_judgments_per_task: int | None = None,
    uploaded_by: User | None = None,
) -> ImportJob:
    """Record a queued import of `upload` and move the file into the job's folder.

    Raises BatchRejected (every problem with the options; nothing stored) or
    StorageUnavailable (the upload could not be stored; nothing kept). The upload is
    moved on disk, never read into memory: Django streams uploads to a temporary file
    (FILE_UPLOAD_HANDLERS). Its import is queued after the commit.
    """
    problems = import_option_problems(
        project_slug, split, judgments_per_task, max_judgments_per_task
    )
    if problems:
        raise BatchRejected(problems)
    name = Path(upload.name or "").name or "upload.zip"
    root = Path(settings.IMPORT_UPLOAD_ROOT)
    folder: Path | None = None
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                project_slug=project_slug,
                split=split,
                judgments_per_task=judgments_per_task,
                max_judgments_per_task=max_judgments_per_task,
                source_name=name[:500],
                byte_size=upload.size or 0,
                uploaded_by=uploaded_by,
            )
            folder = root / str(job.pk)
            job.source_path = str(_store_upload(upload, folder / name, root))
            job.save(update_fields=["source_path"])
            transaction.on_commit(lambda: enqueue_import_job(job.pk))
    except BaseException:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    return job


def _store_upload(upload: UploadedFile, target: Path, root: Path) -> Path:
    try:
        shutil.rmtree(target.parent, ignore_errors=True)  # a folder left by a dropped database
        target.parent.mkdir(parents=True)
        temporary = getattr(upload, "temporary_file_path", None)
        if temporary is not None:
            file_move_safe(temporary(), str(target), allow_overwrite=True)
        else:  # a file given by code rather than by an upload handler
            with open(target, "wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
    except OSError as exc:
        raise StorageUnavailable(
            f"could not store the upload under {root} ({exc.strerror or exc}); free disk "
            "space or fix IMPORT_UPLOAD_ROOT, then upload again"
        ) from exc
    return target


def enqueue_import_job(job_id: int) -> None:
    """Queue a recorded job's import. With the broker unreachable the job stays `queued`
    and the periodic sweep (annotation.sweep_queued_imports) queues it later."""
    if not enqueue(RUN_IMPORT_JOB_TASK, job_id):
        logger.info("import %s recorded; it is queued by the sweep when the broker answers", job_id)


def queued_import_job_ids(older_than: timedelta) -> list[int]:
    """Jobs still `queued` created more than `older_than` ago (their task was never sent,
    or still waits). Sending one again is harmless: a job runs once at a time."""
    cutoff = timezone.now() - older_than
    return list(
        ImportJob.objects.filter(status=ImportJob.Status.QUEUED, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def run_import_job(job_id: int, progress: Progress | None = None) -> ImportJob | None:
    """Run a job's import; idempotent, one run at a time (None: another worker runs it).

    A job that already ended is returned unchanged. A job left `running` by a killed
    worker is first undone (the image files it wrote are removed; its rows never
    committed) and then run again from the start. Outcomes: `succeeded` (recorded in the
    import's own transaction, with its batch), `failed` with every problem, `cancelled`.
    A database error leaves the job as it is, for the task's retry.
    """
    if not _lock(job_id, LOCK_WAIT_S):
        return None
    try:
        job = ImportJob.objects.filter(pk=job_id).first()
        if job is None or job.finished:
            return job
        _undo_interrupted(job)
        if job.cancel_requested:
            return _finish(job, ImportJob.Status.CANCELLED)
        return _run(job, progress)
    finally:
        _unlock(job_id)


def cancel_import_job(job_id: int) -> ImportJob:
    """Stop a job: one not running ends `cancelled` now (or, when what a killed run left
    must wait for another import, on a worker soon); a running one is asked to stop and
    ends `cancelled` within a moment, having imported nothing."""
    job = ImportJob.objects.get(pk=job_id)
    if job.finished:
        raise ImportJobRefused(
            f"import {job_id} has already {_ended(job)}; there is nothing to cancel"
        )
    ImportJob.objects.filter(pk=job_id).update(cancel_requested=True)
    if _lock(job_id, 0):  # no worker runs it
        try:
            job.refresh_from_db()
            if not job.finished and _undo_interrupted(job, wait=False):
                _finish(job, ImportJob.Status.CANCELLED)
            elif not job.finished:  # another import stores files now: a worker ends it
                transaction.on_commit(lambda: enqueue_import_job(job_id))
        finally:
            _unlock(job_id)
    job.refresh_from_db()
    return job


def retry_import_job(job_id: int) -> ImportJob:
    """Queue again a job that no worker runs (its worker was killed, or its task was
    lost): what the interrupted run left is removed first, then it runs from the start."""
    job = ImportJob.objects.get(pk=job_id)
    if job.finished:
        raise ImportJobRefused(
            f"import {job_id} has already {_ended(job)}; upload the archive again to import it anew"
        )
    if not _lock(job_id, 0):
        raise ImportJobRefused(
            f"import {job_id} is running on a worker now; follow its progress, or cancel it"
        )
    try:
        job.refresh_from_db()
        _undo_interrupted(job, wait=False)  # else the worker does it before it runs
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.QUEUED, stage="", **RESET_COUNTERS
        )
    finally:
        _unlock(job_id)
    transaction.on_commit(lambda: enqueue_import_job(job_id))
    job.refresh_from_db()
    return job


def describe_import_job(job: ImportJob) -> str:
    """One line saying where the job stands, for the page and the API."""
    if job.status == ImportJob.Status.SUCCEEDED:
        summary = job.summary
        return (
            f"Imported batch {job.batch_id} into {job.project_slug}: {summary.get('prompts')} "
            f"prompts, {summary.get('images')} images, {summary.get('tasks')} tasks."
        )
    if job.status == ImportJob.Status.FAILED:
        return (
            f"{len(job.problems)} problem(s) found; nothing was imported. Fix them all and "
            "upload again."
        )
    if job.status == ImportJob.Status.CANCELLED:
        return "Cancelled; nothing was imported."
    if job.cancel_requested:
        return "Cancelling: the import stops at its next step and keeps nothing."
    if job.status == ImportJob.Status.RUNNING:
        return f"Importing ({job.stage or 'reading the archive'})."
    return "Waiting for a worker to start the import."


def _ended(job: ImportJob) -> str:
    if job.status == ImportJob.Status.SUCCEEDED:
        return f"succeeded (batch {job.batch_id})"
    return str(job.status)


def _run(job: ImportJob, progress: Progress | None) -> ImportJob:
    started = time.perf_counter()
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.RUNNING,
        started_at=timezone.now(),
        attempts=F("attempts") + 1,
        stage="",
        **RESET_COUNTERS,
    )
    path = Path(job.source_path)

    def record_success(summary: ImportSummary) -> None:
        summary.seconds = round(time.perf_counter() - started, 3)
        ImportJob.objects.filter(pk=job.pk).update(
            status=ImportJob.Status.SUCCEEDED,
            finished_at=timezone.now(),
            summary=summary.as_dict(),
            batch_id=summary.batch or None,
        )

    tracker = _JobProgress(job.pk, progress)
    try:
        ImportJob.objects.filter(pk=job.pk).update(sha256=_sha256(path))
        import_batch(
            path,
            job.project_slug,
            split=job.split,
            judgments_per_task=job.judgments_per_task,
            max_judgments_per_task=job.max_judgments_per_task,
            uploaded_by=job.uploaded_by,
            progress=tracker,
            media_journal=path.parent / JOURNAL_NAME,
            on_ingested=record_success,
        )
    except BatchRejected as rejected:
        return _finish(job, ImportJob.Status.FAILED, rejected.problems)
    except StorageUnavailable as exc:
        return _finish(job, ImportJob.Status.FAILED, [Problem("storage", str(exc))])
    except ImportCancelled:
        return _finish(job, ImportJob.Status.CANCELLED)
    except FileNotFoundError:
        gone = Problem(job.source_name, "the stored upload is gone from the server; upload again")
        return _finish(job, ImportJob.Status.FAILED, [gone])
    except DatabaseError:
        raise  # the job stays as it is; the task retries it
    except Exception as exc:
        logger.exception("import %s failed", job.pk)
        problem = Problem("import", f"failed unexpectedly ({exc!r}); nothing was imported")
        return _finish(job, ImportJob.Status.FAILED, [problem])
    finally:
        tracker.close()
    _remove_upload(job)
    job.refresh_from_db()
    return job


def _finish(
    job: ImportJob, status: ImportJob.Status, problems: list[Problem] | None = None
) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(
        status=status,
        finished_at=timezone.now(),
        problems=[problem.as_dict() for problem in problems or []],
    )
    _remove_upload(job)
    job.refresh_from_db()
    return job


def _remove_upload(job: ImportJob) -> None:
    if job.source_path:
        shutil.rmtree(Path(job.source_path).parent, ignore_errors=True)


def _undo_interrupted(job: ImportJob, *, wait: bool = True) -> bool:
    """Remove the image files a killed run of the job wrote (named in its journal) that
    no committed image uses; True when nothing of it is left. Under the import lock: no
    import is storing files then. Without `wait`, False when another import holds it."""
    if not job.source_path:
        return True
    journal = Path(job.source_path).parent / JOURNAL_NAME
    written = journalled(journal)
    if not written:
        return True
    with transaction.atomic():
        with connection.cursor() as cursor:
            if wait:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
            else:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
                (locked,) = cursor.fetchone() or (False,)
                if not locked:
                    return False
        used = set(Image.objects.filter(file__in=written).values_list("file", flat=True))
        remove_journalled(Path(settings.MEDIA_ROOT), [path for path in written if path not in used])
    journal.unlink(missing_ok=True)
    return True


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _lock(job_id: int, wait_s: float) -> bool:
    """Take the job's advisory lock, waiting up to `wait_s` (a killed worker's lock goes
    when PostgreSQL notices its connection is gone, usually within milliseconds)."""
    deadline = time.monotonic() + wait_s
    while True:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [JOB_LOCK_CLASS, job_id])
            (locked,) = cursor.fetchone() or (False,)
        if locked or time.monotonic() >= deadline:
            return bool(locked)
        time.sleep(0.2)


def _unlock(job_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [JOB_LOCK_CLASS, job_id])


class _JobProgress(Progress):
    """Counts the import's stages on the job's row (at most every PROGRESS_EVERY_S) and
    stops the import when the job was asked to cancel.

    The import writes inside its transaction, so the row is updated through a second,
    autocommit connection: others see the counters while the import runs.
    """

    def __init__(self, job_id: int, outer: Progress | None):
        self.job_id = job_id
        self.outer = outer or Progress()
        self.stage = ""
        self.total = 0
        self.done = 0
        self.last = 0.0
        self.side: BaseDatabaseWrapper | None = None

    def start(self, stage: str, total: int) -> None:
        self.outer.start(stage, total)
        self.stage, self.total, self.done = stage, total, 0
        self._record()

    def advance(self, count: int = 1) -> None:
        self.outer.advance(count)
        self.done += count
        if self.done >= self.total or time.monotonic() - self.last >= PROGRESS_EVERY_S:
            self._record()

    def _record(self) -> None:
        self.last = time.monotonic()
        table = ImportJob._meta.db_table
        assignments: list[str] = ["stage = %s"]
        values: list[str | int] = [self.stage[:32]]
        if self.stage in COUNTERS:
            total_field, done_field = COUNTERS[self.stage]
            assignments += [f"{total_field} = %s", f"{done_field} = %s"]
            values += [self.total, min(self.done, self.total)]
        if self.side is None:
            self.side = connections.create_connection(DEFAULT_DB_ALIAS)
        with self.side.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {', '.join(assignments)} WHERE id = %s "
                "RETURNING cancel_requested",
                [*values, self.job_id],
            )
            row = cursor.fetchone()
        if row is not None and row[0]:  # None: the row is not committed yet (a test's)
            raise ImportCancelled(f"import {self.job_id} was cancelled")

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
            self.side = None
