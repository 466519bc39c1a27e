"""A project's judgments as numpy arrays, read with one SQL query (for agreement statistics)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection

from annotation.judging import competition_ranks
from annotation.models import Project
from annotation.quality.counted import counted_sql

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


@dataclass
class JudgmentArrays:
    """Judgments as arrays, one row per judgment; rankings flattened in `images`."""

    ids: IntArray
    task: IntArray
    annotator: IntArray
    batch: IntArray
    split: np.ndarray[Any, np.dtype[np.str_]]
    guideline: np.ndarray[Any, np.dtype[np.str_]]
    duration_ms: FloatArray  # NaN when unknown
    created: FloatArray  # epoch seconds
    size: IntArray  # images in the ranking
    first_shown: IntArray  # image id shown first (-1 when unknown)
    second_shown: IntArray
    images: IntArray  # every ranking, best to worst, concatenated
    offsets: IntArray  # start of each ranking in `images`
    # The rank (1 = best) of each image of `images`: its position + 1, or where the
    # judgment ties images the best rank of their level (annotation/judging/ties.py).
    ranks: IntArray

    def __len__(self) -> int:
        return len(self.ids)


def read_judgments(
    project: Project, split: str | None, batch: int | None, guideline_version: str | None
) -> JudgmentArrays:
    """The project's judgments that count (annotation/quality/counted.py; gold included)
    and rank two images or more, optionally of one split, batch or guideline version."""
    counted, counted_params = counted_sql("j", "t")
    filters = ["t.project_id = %s", counted]
    params: list[Any] = [project.pk, *counted_params]
    if split:
        filters.append("b.split = %s")
        params.append(split)
    if batch:
        filters.append("t.batch_id = %s")
        params.append(batch)
    if guideline_version:
        filters.append("j.guideline_version = %s")
        params.append(guideline_version)
    sql = f"""
        SELECT j.id, j.task_id, j.annotator_id, t.batch_id, b.split, j.guideline_version,
               j.duration_ms, EXTRACT(EPOCH FROM j.created_at)::float8,
               cardinality(j.ranking), array_to_string(j.ranking, ','),
               COALESCE(j.display_order[1], -1), COALESCE(j.display_order[2], -1),
               array_to_string(j.levels, ',')
        FROM annotation_judgment j
        JOIN annotation_task t ON t.id = j.task_id
        JOIN annotation_batch b ON b.id = t.batch_id
        WHERE {" AND ".join(filters)} AND cardinality(j.ranking) >= 2
        ORDER BY j.id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return JudgmentArrays(
            empty, empty, empty, empty, np.zeros(0, dtype=str), np.zeros(0, dtype=str),
            np.zeros(0), np.zeros(0), empty, empty, empty, empty, empty, empty,
        )  # fmt: skip
    columns = list(zip(*rows, strict=True))
    size = np.array(columns[8], dtype=np.int64)
    images = np.array(",".join(columns[9]).split(","), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    ranks = np.concatenate(
        [
            competition_ranks(range(n), [int(v) for v in levels.split(",")] if levels else [])
            for n, levels in zip(columns[8], columns[12], strict=True)
        ]
    ).astype(np.int64)
    return JudgmentArrays(
        ids=np.array(columns[0], dtype=np.int64),
        task=np.array(columns[1], dtype=np.int64),
        annotator=np.array(columns[2], dtype=np.int64),
        batch=np.array(columns[3], dtype=np.int64),
        split=np.array(columns[4], dtype=str),
        guideline=np.array(columns[5], dtype=str),
        duration_ms=np.array([np.nan if d is None else d for d in columns[6]], dtype=np.float64),
        created=np.array(columns[7], dtype=np.float64),
        size=size,
        first_shown=np.array(columns[10], dtype=np.int64),
        second_shown=np.array(columns[11], dtype=np.int64),
        images=images,
        offsets=offsets,
        ranks=ranks,
    )
