"""The full record beside the HPD files: annotations.jsonl (one line per judgment) and
pairs.parquet (one row per derived winner/loser pair)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from annotation.services.export.manifest import FileRecord, HashingWriter
from annotation.services.export.query import JudgmentRow, TaskGroup

PAIR_SCHEMA = pa.schema(
    [
        ("split", pa.string()),
        ("task", pa.int64()),
        ("judgment", pa.int64()),
        ("annotator", pa.string()),
        ("prompt", pa.string()),
        ("style", pa.string()),
        ("winner_sha256", pa.string()),
        ("loser_sha256", pa.string()),
        ("winner_generator", pa.string()),
        ("loser_generator", pa.string()),
        ("winner_path", pa.string()),
        ("loser_path", pa.string()),
    ]
)
# Pair rows buffered before a parquet row group is written (bounded memory).
ROW_GROUP = 100_000


class RichWriter:
    def __init__(self, root: Path, record: FileRecord):
        self.root = root
        self.record = record
        self.annotations = HashingWriter(root, "annotations.jsonl", record)
        self.parquet = pq.ParquetWriter(
            str(root / "pairs.parquet"), PAIR_SCHEMA, compression="zstd"
        )
        self.columns: dict[str, list[Any]] = {name: [] for name in PAIR_SCHEMA.names}

    def write_group(self, group: TaskGroup, pseudonyms: list[str], paths: list[str]) -> None:
        by_id = {image.id: image for image in group.images}
        full_path = {
            image.id: f"{group.split}/{path}"
            for image, path in zip(group.images, paths, strict=True)
        }
        columns = self.columns
        for judgment, annotator in zip(group.judgments, pseudonyms, strict=True):
            self.annotations.write(_annotation_line(group, judgment, annotator, by_id) + "\n")
            ranking = judgment.ranking
            order = _pair_order(len(ranking))
            winners = [ranking[a] for a, _ in order]
            losers = [ranking[b] for _, b in order]
            count = len(order)
            columns["split"] += [group.split] * count
            columns["task"] += [group.task_id] * count
            columns["judgment"] += [judgment.id] * count
            columns["annotator"] += [annotator] * count
            columns["prompt"] += [group.prompt] * count
            columns["style"] += [group.style] * count
            columns["winner_sha256"] += [by_id[i].sha256 for i in winners]
            columns["loser_sha256"] += [by_id[i].sha256 for i in losers]
            columns["winner_generator"] += [by_id[i].generator for i in winners]
            columns["loser_generator"] += [by_id[i].generator for i in losers]
            columns["winner_path"] += [full_path[i] for i in winners]
            columns["loser_path"] += [full_path[i] for i in losers]
        if len(columns["split"]) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.columns["split"]:
            self.parquet.write_table(pa.table(self.columns, schema=PAIR_SCHEMA))
            self.columns = {name: [] for name in PAIR_SCHEMA.names}

    def abort(self) -> None:
        """Stop after a failure; the caller removes the partial folder."""
        self.parquet.close()
        self.annotations.handle.close()

    def close(self) -> None:
        self._flush()
        self.parquet.close()
        self.annotations.close()
        self.record.add_file(self.root, "pairs.parquet")


@cache
def _pair_order(size: int) -> list[tuple[int, int]]:
    """Ranking positions (winner, loser) of every pair of a ranking of `size` images."""
    return [(a, b) for a in range(size) for b in range(a + 1, size)]


def _annotation_line(
    group: TaskGroup, judgment: JudgmentRow, annotator: str, by_id: dict[int, Any]
) -> str:
    def shas(ids: list[int]) -> list[str]:
        return [by_id[image_id].sha256 for image_id in ids if image_id in by_id]

    return json.dumps(
        {
            "judgment": judgment.id,
            "task": group.task_id,
            "split": group.split,
            "batch": group.batch_id,
            "prompt": group.prompt_raw,
            "prompt_cleaned": group.prompt_cleaned,
            "style": group.style,
            "source": group.source,
            "is_gold": group.is_gold,
            "images": [
                {"sha256": image.sha256, "generator": image.generator} for image in group.images
            ],
            "display_order": shas(judgment.display_order),
            "ranking": shas(judgment.ranking),
            "duration_ms": judgment.duration_ms,
            "flags": sorted(judgment.flags),
            "guideline_version": judgment.guideline_version,
            "annotator": annotator,
            "created_at": judgment.created_at.isoformat(),
        },
        ensure_ascii=False,
        sort_keys=True,
    )
