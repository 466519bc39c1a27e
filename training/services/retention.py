"""Retention (`manage.py prune`): old export snapshots' files and the checkpoints of old
training runs that no registered model version uses.

Kept always: a registered ModelVersion's checkpoint (whatever its status, since a
retired version can be rolled back to), everything of a live run, the newest done
snapshot of each project, and the snapshots pinned as a project's frozen evaluation set
or used by a live run. "Old" is finished more than `keep_days` ago (RETENTION_DAYS by
default). A dry run lists the same things and removes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.db.models import Q
from django.utils import timezone

from annotation.export import Removed, prune_snapshots
from scoring.models import ModelVersion
from training.models import TrainingPolicy, TrainingRun


@dataclass(frozen=True)
class PruneReport:
    removed: list[Removed]
    dry_run: bool

    @property
    def bytes(self) -> int:
        return sum(item.bytes for item in self.removed)


def prune(keep_days: int, *, dry_run: bool = False) -> PruneReport:
    """Remove what is older than `keep_days` days and not kept (see the module)."""
    if keep_days < 0:
        raise ValueError(f"keep_days must be 0 or more, not {keep_days}")
    cutoff = timezone.now() - timedelta(days=keep_days)
    live = TrainingRun.objects.filter(status__in=TrainingRun.LIVE)
    keep: set[int] = {
        pk
        for pair in live.values_list("snapshot_id", "evaluation_snapshot_id")
        for pk in pair
        if pk is not None
    }
    keep |= set(
        TrainingPolicy.objects.exclude(evaluation_snapshot=None).values_list(
            "evaluation_snapshot_id", flat=True
        )
    )
    removed = prune_snapshots(cutoff, keep=keep, dry_run=dry_run)
    removed += prune_checkpoints(cutoff, dry_run=dry_run)
    return PruneReport(removed=removed, dry_run=dry_run)


def prune_checkpoints(cutoff: datetime, *, dry_run: bool = False) -> list[Removed]:
    """Remove the checkpoint files of runs finished before `cutoff`, except those a
    registered model version points at; the run's metrics and run.json stay."""
    registered = {
        Path(path).resolve()
        for path in ModelVersion.objects.values_list("checkpoint_path", flat=True)
    }
    runs = (
        TrainingRun.objects.exclude(status__in=TrainingRun.LIVE)
        .exclude(out_dir="")
        .filter(Q(finished_at__lt=cutoff) | Q(finished_at=None, created_at__lt=cutoff))
        .order_by("pk")
    )
    removed: list[Removed] = []
    for run in runs:
        folder = Path(run.out_dir) / "checkpoints"
        if not folder.is_dir():
            continue
        for item in sorted(folder.rglob("*")):
            if not item.is_file() or item.resolve() in registered:
                continue
            removed.append(
                Removed(f"checkpoint of training run {run.pk}", item, item.stat().st_size)
            )
            if not dry_run:
                item.unlink()
    return removed
