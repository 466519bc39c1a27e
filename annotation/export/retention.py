"""Retention of export snapshots: removing the files of old ones (`manage.py prune`).

A snapshot's files are removed once it finished more than the retention period ago;
its row stays (training runs and the audit log refer to it), marked with when its files
went, and a download of it answers 410. Never removed: the newest done snapshot of each
project, snapshots still queued or running, and those the caller keeps (the training
app keeps frozen evaluation sets and the snapshots of live runs).
"""

from __future__ import annotations

import shutil
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.db.models import Max, Q
from django.utils import timezone

from annotation.models import ExportSnapshot
from core.disk import tree_bytes

PRUNED_NOTE = "files removed by manage.py prune on {day}"


@dataclass(frozen=True)
class Removed:
    """One thing prune removed (or, in a dry run, would remove), and its bytes."""

    what: str
    path: Path
    bytes: int


def prune_snapshots(
    cutoff: datetime, *, keep: Collection[int] = (), dry_run: bool = False
) -> list[Removed]:
    """Remove the files of the snapshots finished before `cutoff` (see the module)."""
    newest = (
        ExportSnapshot.objects.filter(status=ExportSnapshot.Status.DONE)
        .values("project_id")
        .annotate(newest=Max("pk"))
    )
    kept = {row["newest"] for row in newest} | set(keep)
    old = (
        ExportSnapshot.objects.filter(
            status__in=[ExportSnapshot.Status.DONE, ExportSnapshot.Status.FAILED]
        )
        .filter(Q(finished_at__lt=cutoff) | Q(finished_at=None, created_at__lt=cutoff))
        .exclude(pk__in=kept)
        .order_by("pk")
    )
    removed: list[Removed] = []
    for snapshot in old:
        folder = Path(snapshot.path) if snapshot.path else None
        if folder is None or not folder.exists():
            continue
        removed.append(Removed(f"export snapshot {snapshot.pk}", folder, tree_bytes(folder)))
        if dry_run:
            continue
        shutil.rmtree(folder)
        note = PRUNED_NOTE.format(day=timezone.now().date().isoformat())
        ExportSnapshot.objects.filter(pk=snapshot.pk).update(
            error=f"{snapshot.error}; {note}" if snapshot.error else note
        )
    return removed
