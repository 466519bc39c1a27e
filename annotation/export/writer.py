"""write_export: one pass over the kept judgments writes every file of a snapshot."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from annotation.export.datasheet import render_datasheet
from annotation.export.hpd_files import HpdWriter
from annotation.export.manifest import FileRecord, HashingWriter, write_manifest
from annotation.export.params import ExportParams, pseudonym, snapshot_salt
from annotation.export.query import (
    MIN_ANNOTATORS,
    removal_counts,
    splits_keeping_names,
    stream_task_groups,
)
from annotation.export.rich_files import RichWriter
from annotation.leaderboard import mean_scores_for
from annotation.models import Project
from annotation.quality import compute_agreement
from core.progress import Progress


@dataclass(frozen=True)
class ExportResult:
    checksum: str
    counts: dict[str, Any]


def _agreement_for(project: Project, params: ExportParams) -> Mapping[str, Any] | None:
    """The agreement figures for DATASHEET.md: the project's report for the exported split
    (and batch, when exactly one is exported), from the same snapshot of the data.

    The report applies the rules every statistic applies (no calibration judgments, no
    excluded annotators, no repeat items), not the export's optional filters (dates,
    flagged annotators, gold tasks); the datasheet says so. Runs inside the export's
    read-only transaction, so a fresh report is not stored.
    """
    return compute_agreement(
        project,
        split=None if params.split == "all" else params.split,
        batch=params.batches[0] if len(params.batches) == 1 else None,
        store=False,
    )


def write_export(
    project: Project, params: ExportParams, root: Path, progress: Progress | None = None
) -> ExportResult:
    """Write a snapshot's files into the existing empty folder `root`.

    Reads in one REPEATABLE READ, read-only transaction when called outside a transaction
    (every file sees the same data), through a server-side cursor: memory holds one
    cursor chunk, one task and one parquet row group, plus one small entry per exported
    image (its id, and its path, size and sha256 for manifest.json): about 1 KB per image.
    Deterministic: the same parameters on unchanged data give byte-identical files.
    """
    progress = progress or Progress()
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _write(project, params, root, progress)


def _write(project: Project, params: ExportParams, root: Path, progress: Progress) -> ExportResult:
    removed = removal_counts(project, params)
    kept = removed.pop("kept", 0)
    progress.start("exporting judgments", kept)
    splits = ("test", "train") if params.split == "all" else (params.split,)
    record = FileRecord()
    salt = snapshot_salt(project.slug, params)
    hpd = HpdWriter(root, splits, Path(settings.MEDIA_ROOT), splits_keeping_names(project), record)
    rich = RichWriter(root, record)
    per_split: dict[str, dict[str, Any]] = {
        split: {"tasks": 0, "judgments": 0, "pairs": 0, "prompts": set()} for split in splits
    }
    styles: dict[str, dict[str, int]] = {split: defaultdict(int) for split in splits}
    generators: dict[str, dict[str, int]] = {split: defaultdict(int) for split in splits}
    too_few = 0
    pseudonyms: dict[int, str] = {}
    try:
        for group in stream_task_groups(project, params):
            if group.split == "test" and len(group.judgments) < params.min_annotators:
                too_few += len(group.judgments)
                progress.advance(len(group.judgments))
                continue
            names = []
            for judgment in group.judgments:
                if judgment.annotator_id not in pseudonyms:
                    pseudonyms[judgment.annotator_id] = pseudonym(salt, judgment.annotator_id)
                names.append(pseudonyms[judgment.annotator_id])
            user_hashes = [
                judgment.external_id or name
                for judgment, name in zip(group.judgments, names, strict=True)
            ]
            linked = hpd.linked[group.split]
            for image in group.images:
                if image.id not in linked:
                    generators[group.split][image.generator] += 1
            paths = [hpd.image_path(group.split, image) for image in group.images]
            train_pairs = hpd.write_group(group, user_hashes, paths)
            rich.write_group(group, names, paths)
            stats = per_split[group.split]
            stats["tasks"] += 1
            stats["judgments"] += len(group.judgments)
            n = len(group.images)
            stats["pairs"] += train_pairs or len(group.judgments) * n * (n - 1) // 2
            if group.prompt_id not in stats["prompts"]:
                stats["prompts"].add(group.prompt_id)
                styles[group.split][group.style] += 1
            progress.advance(len(group.judgments))
        hpd.close()
        rich.close()
    except BaseException:
        hpd.abort()
        rich.abort()
        raise
    if params.min_annotators > 1:
        removed[MIN_ANNOTATORS] = too_few
    counts: dict[str, Any] = {
        "splits": {
            split: {
                "tasks": stats["tasks"],
                "judgments": stats["judgments"],
                "pairs": stats["pairs"],
                "prompts": len(stats["prompts"]),
                "images": len(hpd.linked[split]),
            }
            for split, stats in per_split.items()
        },
        "styles": {split: dict(sorted(v.items())) for split, v in styles.items()},
        "generators": {split: dict(sorted(v.items())) for split, v in generators.items()},
        "removed": removed,
        "kept_judgments": kept - too_few,
        "annotators": len(pseudonyms),
    }
    with HashingWriter(root, "DATASHEET.md", record) as sheet:
        sheet.write(
            render_datasheet(
                project.slug,
                params,
                counts,
                _agreement_for(project, params),
                mean_scores_for(project),
            )
        )
    checksum = write_manifest(root, record)
    return ExportResult(checksum=checksum, counts=counts)
