"""When an export request can reuse a snapshot, and when the disk has room for a new one.

An identical request on unchanged data gets the existing snapshot instead of a second
copy of the same files: each snapshot stores a data version, the sha256 of its canonical
parameters and of everything an export reads that can change (the project's judgments,
its annotators' standing and flags, its tasks, images and prompts). A snapshot queued,
running or done (with its files still on disk) with the same version is reused.

A new export is refused up front when the disk holding EXPORT_ROOT has less than
EXPORT_MIN_FREE_BYTES free, and the export task checks again before it writes, so an
export never fails half-way for want of space it could have known it lacked.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from django.conf import settings
from django.db import connection

from annotation.export.manifest import MANIFEST_NAME
from annotation.export.params import ExportParams
from annotation.models import (
    ExportSnapshot,
    Image,
    Judgment,
    Project,
    ProjectAnnotator,
    Prompt,
    Task,
)
from core.disk import format_bytes, free_bytes


class ExportRefused(Exception):
    """No export was started (the disk is nearly full); the message says what to do."""


# Per table: the rows of the project, each reduced to the columns an export reads that
# can change after the row is written. md5 over the ordered rows, computed in SQL.
_FINGERPRINTS: tuple[tuple[str, str, str], ...] = (
    (Judgment._meta.db_table, "task_id IN (SELECT id FROM {task} WHERE project_id = %s)",
     "id || ':' || (retracted_at IS NULL)"),
    (ProjectAnnotator._meta.db_table, "project_id = %s",
     "annotator_id || ':' || is_excluded || ':' || quality_flags::text"),
    (Task._meta.db_table, "project_id = %s",
     "id || ':' || is_active || ':' || is_gold || ':' || coalesce(repeat_of_id, 0)"),
    (Image._meta.db_table, "project_id = %s", "id || ':' || is_withdrawn"),
    (Prompt._meta.db_table, "project_id = %s",
     "id || ':' || md5(cleaned_text) || ':' || style || ':' || is_held || ':' || is_unsafe"),
)  # fmt: skip


def export_data_version(project: Project, params: ExportParams) -> str:
    """sha256 of the parameters and of the project's data an export reads."""
    digest = hashlib.sha256(params.canonical().encode())
    with connection.cursor() as cursor:
        for table, where, row in _FINGERPRINTS:
            cursor.execute(
                f"SELECT count(*), md5(string_agg({row}, ',' ORDER BY id)) FROM {table} "
                f"WHERE {where.format(task=Task._meta.db_table)}",
                [project.pk],
            )
            count, rows = cursor.fetchone() or (0, None)
            digest.update(f"|{table}={count}:{rows or ''}".encode())
    return digest.hexdigest()


def reusable_snapshot(project: Project, data_version: str) -> ExportSnapshot | None:
    """The newest snapshot of the same version that is queued, running, or done with its
    files still on disk (a pruned or failed one is never reused)."""
    candidates = ExportSnapshot.objects.filter(
        project=project,
        data_version=data_version,
        status__in=[
            ExportSnapshot.Status.QUEUED,
            ExportSnapshot.Status.RUNNING,
            ExportSnapshot.Status.DONE,
        ],
    ).order_by("-pk")
    for snapshot in candidates:
        if snapshot.status != ExportSnapshot.Status.DONE:
            return snapshot
        if (Path(snapshot.path) / MANIFEST_NAME).is_file():
            return snapshot
    return None


def check_export_space(folder: Path | None = None) -> None:
    """Raise ExportRefused when the disk that holds `folder` (EXPORT_ROOT by default) has
    less than EXPORT_MIN_FREE_BYTES free."""
    where = Path(folder or settings.EXPORT_ROOT)
    needed: int = settings.EXPORT_MIN_FREE_BYTES
    free = free_bytes(where)
    if free < needed:
        raise ExportRefused(
            f"the disk holding {where} has {format_bytes(free)} free, and an export needs at "
            f"least {format_bytes(needed)} (EXPORT_MIN_FREE_BYTES); nothing was started. Free "
            "space (`manage.py prune` removes old snapshots and checkpoints) and try again"
        )
