"""The full record beside the HPD files: annotations.jsonl (one line per judgment) and
pairs.parquet (one row per derived winner/loser pair)."""

from __future__ import annotations

import json
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
        path_of = {image.id: path for image, path in zip(group.images, paths, strict=True)}
        for judgment, annotator in zip(group.judgments, pseudonyms, strict=True):
            self.annotations.write(_annotation_line(group, judgment, annotator, by_id) + "\n")
            ranking = judgment.ranking
            columns = self.columns
            for a in range(len(ranking)):
                winner = by_id[ranking[a]]
                for b in range(a + 1, len(ranking)):
                    loser = by_id[ranking[b]]
                    columns["split"].append(group.split)
                    columns["task"].append(group.task_id)
                    columns["judgment"].append(judgment.id)
                    columns["annotator"].append(annotator)
                    columns["prompt"].append(group.prompt)
                    columns["style"].append(group.style)
                    columns["winner_sha256"].append(winner.sha256)
                    columns["loser_sha256"].append(loser.sha256)
                    columns["winner_generator"].append(winner.generator)
                    columns["loser_generator"].append(loser.generator)
                    columns["winner_path"].append(f"{group.split}/{path_of[winner.id]}")
                    columns["loser_path"].append(f"{group.split}/{path_of[loser.id]}")
        if len(self.columns["split"]) >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.columns["split"]:
            self.parquet.write_table(pa.table(self.columns, schema=PAIR_SCHEMA))
            self.columns = {name: [] for name in PAIR_SCHEMA.names}

    def close(self) -> None:
        self._flush()
        self.parquet.close()
        self.annotations.close()
        self.record.add_file(self.root, "pairs.parquet")


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
