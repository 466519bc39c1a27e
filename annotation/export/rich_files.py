"""The full record beside the HPD files: annotations.jsonl (one line per judgment) and
pairs.parquet (one row per derived winner/loser pair)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from annotation.export.manifest import FileRecord, HashingWriter
from annotation.export.query import JudgmentRow, TaskGroup
from annotation.judging import derived_pairs

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
        # 1: the judgment put both images on one level (a tie; winner and loser are then
        # in ranking order), 0: the winner was preferred.
        ("is_tie", pa.int64()),
    ]
)
# Pair rows buffered before a parquet row group is written (bounded memory).
ROW_GROUP = 100_000


class _Strings:
    """String values of the current row group, kept once each and referred to by code:
    repeated values (a judgment's prompt, an image's sha256) cost an int per row, and
    the column is expanded in C when the row group is written."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.values: list[str] = []

    def code(self, value: str) -> int:
        code = self.index.get(value)
        if code is None:
            code = self.index[value] = len(self.values)
            self.values.append(value)
        return code

    def column(self, codes: list[int]) -> pa.Array:
        dictionary = pa.array(self.values, pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), dictionary).cast(
            pa.string()
        )


class RichWriter:
    def __init__(self, root: Path, record: FileRecord):
        self.root = root
        self.record = record
        self.annotations = HashingWriter(root, "annotations.jsonl", record)
        self.parquet = pq.ParquetWriter(
            str(root / "pairs.parquet"), PAIR_SCHEMA, compression="zstd"
        )
        self._reset()

    def _reset(self) -> None:
        self.columns: dict[str, list[int]] = {name: [] for name in PAIR_SCHEMA.names}
        self.text = _Strings()  # split, annotator, prompt, style, sha256, generator, path
        self.rows = 0

    def write_group(self, group: TaskGroup, pseudonyms: list[str], paths: list[str]) -> None:
        by_id = {image.id: image for image in group.images}
        code = self.text.code
        sha = {image.id: code(image.sha256) for image in group.images}
        generator = {image.id: code(image.generator) for image in group.images}
        full_path = {
            image.id: code(f"{group.split}/{path}")
            for image, path in zip(group.images, paths, strict=True)
        }
        split, prompt, style = code(group.split), code(group.prompt), code(group.style)
        columns = self.columns
        for judgment, annotator in zip(group.judgments, pseudonyms, strict=True):
            self.annotations.write(_annotation_line(group, judgment, annotator, by_id) + "\n")
            pairs = derived_pairs(judgment.ranking, judgment.levels)
            winners = [winner for winner, _, _ in pairs]
            losers = [loser for _, loser, _ in pairs]
            count = len(pairs)
            columns["split"] += [split] * count
            columns["task"] += [group.task_id] * count
            columns["judgment"] += [judgment.id] * count
            columns["annotator"] += [code(annotator)] * count
            columns["prompt"] += [prompt] * count
            columns["style"] += [style] * count
            columns["winner_sha256"] += [sha[i] for i in winners]
            columns["loser_sha256"] += [sha[i] for i in losers]
            columns["winner_generator"] += [generator[i] for i in winners]
            columns["loser_generator"] += [generator[i] for i in losers]
            columns["winner_path"] += [full_path[i] for i in winners]
            columns["loser_path"] += [full_path[i] for i in losers]
            columns["is_tie"] += [int(tie) for _, _, tie in pairs]
            self.rows += count
        if self.rows >= ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self.rows:
            arrays = [
                pa.array(self.columns[field.name], pa.int64())
                if field.type == pa.int64()
                else self.text.column(self.columns[field.name])
                for field in PAIR_SCHEMA
            ]
            self.parquet.write_table(pa.Table.from_arrays(arrays, schema=PAIR_SCHEMA))
            self._reset()

    def abort(self) -> None:
        """Stop after a failure; the caller removes the partial folder."""
        self.parquet.close()
        self.annotations.handle.close()

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
            "levels": judgment.levels,
            "reasons": judgment.reasons,
            "note": judgment.note,
            "guideline_version": judgment.guideline_version,
            "annotator": annotator,
            "created_at": judgment.created_at.isoformat(),
        },
        ensure_ascii=False,
        sort_keys=True,
    )
