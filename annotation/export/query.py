"""What an export reads: which judgments it keeps, why it leaves the others out, and a
server-side cursor streaming the kept ones grouped by task (bounded memory)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, NamedTuple

from django.db import connection

from annotation.export.params import ExportParams
from annotation.models import (
    Batch,
    Image,
    Judgment,
    Project,
    ProjectAnnotator,
    Prompt,
    Task,
    TaskImage,
    User,
)
from annotation.quality import GOLD_REASON, UNCOUNTED_REASONS, gold_condition

# Rows fetched per round trip of the server-side cursor.
CHUNK_ROWS = 2000

# Why a judgment is left out, in the order the reasons are checked (the first that holds):
# first those of a judgment that does not count (annotation/quality/counted.py), then the
# export's own filters.
ALWAYS_REMOVED = tuple(reason for reason, _ in UNCOUNTED_REASONS)
FILTER_REMOVED = ("split", "batch", "date_range", "flagged_annotator", GOLD_REASON)
MIN_ANNOTATORS = "min_annotators"

T = {
    "judgment": Judgment._meta.db_table,
    "task": Task._meta.db_table,
    "batch": Batch._meta.db_table,
    "prompt": Prompt._meta.db_table,
    "image": Image._meta.db_table,
    "taskimage": TaskImage._meta.db_table,
    "user": User._meta.db_table,
    "standing": ProjectAnnotator._meta.db_table,
}


def _reason_sql(params: ExportParams) -> tuple[str, list[Any]]:
    """A CASE expression naming the first reason a judgment is left out, or 'kept'."""
    cases: list[tuple[str, list[Any]]] = [(condition, []) for _, condition in UNCOUNTED_REASONS]
    reasons = list(ALWAYS_REMOVED)
    if params.split != "all":
        cases.append(("b.split <> %s", [params.split]))
        reasons.append("split")
    if params.batches:
        cases.append(("NOT (t.batch_id = ANY(%s))", [list(params.batches)]))
        reasons.append("batch")
    if params.created_from or params.created_to:
        start = _day_start(params.created_from) if params.created_from else None
        end = _day_start(params.created_to) + timedelta(days=1) if params.created_to else None
        cases.append(
            (
                "((%s::timestamptz IS NOT NULL AND j.created_at < %s::timestamptz) OR "
                "(%s::timestamptz IS NOT NULL AND j.created_at >= %s::timestamptz))",
                [start, start, end, end],
            )
        )
        reasons.append("date_range")
    if params.exclude_flagged_annotators:
        cases.append(
            (
                f"EXISTS (SELECT 1 FROM {T['standing']} pf WHERE pf.project_id = t.project_id "
                "AND pf.annotator_id = j.annotator_id AND pf.quality_flags <> '[]'::jsonb)",
                [],
            )
        )
        reasons.append("flagged_annotator")
    if params.exclude_gold:
        cases.append((gold_condition("t"), []))
        reasons.append(GOLD_REASON)
    sql = (
        "CASE "
        + " ".join(
            f"WHEN {cond} THEN '{reason}'" for (cond, _), reason in zip(cases, reasons, strict=True)
        )
        + " ELSE 'kept' END"
    )
    args = [arg for _, case_args in cases for arg in case_args]
    return sql, args


def _day_start(day: Any) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


_FROM = (
    f"FROM {T['judgment']} j JOIN {T['task']} t ON t.id = j.task_id "
    f"JOIN {T['batch']} b ON b.id = t.batch_id "
)


def removal_counts(project: Project, params: ExportParams) -> dict[str, int]:
    """Judgments of the project by the first reason they are left out ('kept' if none)."""
    reason, args = _reason_sql(params)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {reason} AS reason, count(*) {_FROM} WHERE t.project_id = %s GROUP BY 1",
            [*args, project.pk],
        )
        found = dict(cursor.fetchall())
    return {key: int(value) for key, value in sorted(found.items())}


def splits_keeping_names(project: Project) -> set[str]:
    """The splits whose images each have their own safe relative original name, so the
    export keeps the names they were uploaded (or released) under; the images of other
    splits are named by their sha256."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT b.split, count(*) = count(DISTINCT i.original_name) AND coalesce(bool_and("
            "i.original_name <> '' AND i.original_name NOT LIKE '/%%' AND i.original_name "
            "NOT LIKE '%%..%%' AND position(E'\\\\' in i.original_name) = 0), true) "
            f"FROM {T['image']} i JOIN {T['prompt']} p ON p.id = i.prompt_id "
            f"JOIN {T['batch']} b ON b.id = p.batch_id WHERE i.project_id = %s GROUP BY b.split",
            [project.pk],
        )
        return {split for split, unique in cursor.fetchall() if unique}


class TaskImageRow(NamedTuple):
    id: int
    sha256: str
    original_name: str
    generator: str
    file: str
    byte_size: int


class JudgmentRow(NamedTuple):
    id: int
    annotator_id: int
    external_id: str
    ranking: list[int]
    display_order: list[int]
    duration_ms: int | None
    flags: list[str]
    guideline_version: str
    created_at: datetime
    levels: list[int]  # empty: a strict order (annotation/judging/ties.py)
    reasons: list[str]
    note: str


@dataclass
class TaskGroup:
    """One task with its images (in position order) and its kept judgments."""

    task_id: int
    split: str
    batch_id: int
    is_gold: bool
    prompt_id: int
    prompt_raw: str
    prompt_cleaned: str
    style: str
    source: str
    images: list[TaskImageRow]
    judgments: list[JudgmentRow]
    released_rank: list[int | float] | None = None  # an imported test.json group's `rank`
    judgments_done: int = 0

    @property
    def prompt(self) -> str:
        """The text the HPD files carry: the cleaned prompt, or the raw one if not cleaned."""
        return self.prompt_cleaned or self.prompt_raw


def _json(value: Any) -> Any:
    """A jsonb column read by a raw cursor: Django's driver setup leaves it as text."""
    return json.loads(value) if isinstance(value, str) else value


def stream_task_groups(project: Project, params: ExportParams) -> Iterator[TaskGroup]:
    """Kept judgments, grouped by task, ordered by task id then judgment id.

    Reads through a server-side cursor (CHUNK_ROWS rows per fetch): memory holds one
    chunk and one task, whatever the size of the project. Call inside a transaction.
    """
    reason, args = _reason_sql(params)
    sql = (
        "SELECT b.split, t.id, t.batch_id, t.is_gold, p.id, p.raw_text, p.cleaned_text, "
        "p.style, p.source, ti.ids, ti.shas, ti.names, ti.generators, ti.files, ti.sizes, "
        "j.id, j.annotator_id, u.external_id, j.ranking, j.display_order, j.duration_ms, "
        "j.flags, j.guideline_version, j.created_at, t.released_rank, t.judgments_done, "
        "j.levels, j.reasons, j.note "
        f"{_FROM} JOIN {T['prompt']} p ON p.id = t.prompt_id "
        f"JOIN {T['user']} u ON u.id = j.annotator_id "
        "CROSS JOIN LATERAL (SELECT array_agg(i.id ORDER BY x.position) ids, "
        "array_agg(i.sha256 ORDER BY x.position) shas, "
        "array_agg(i.original_name ORDER BY x.position) names, "
        "array_agg(i.generator ORDER BY x.position) generators, "
        "array_agg(i.file ORDER BY x.position) files, "
        "array_agg(i.byte_size ORDER BY x.position) sizes "
        f"FROM {T['taskimage']} x JOIN {T['image']} i ON i.id = x.image_id "
        "WHERE x.task_id = t.id) ti "
        f"WHERE t.project_id = %s AND {reason} = 'kept' ORDER BY t.id, j.id"
    )
    current: TaskGroup | None = None
    with connection.chunked_cursor() as cursor:
        cursor.itersize = CHUNK_ROWS  # type: ignore[attr-defined]
        cursor.execute(sql, [project.pk, *args])
        while rows := cursor.fetchmany(CHUNK_ROWS):
            for row in rows:
                if current is None or current.task_id != row[1]:
                    if current is not None:
                        yield current
                    current = TaskGroup(
                        task_id=row[1],
                        split=row[0],
                        batch_id=row[2],
                        is_gold=row[3],
                        prompt_id=row[4],
                        prompt_raw=row[5],
                        prompt_cleaned=row[6],
                        style=row[7],
                        source=row[8],
                        images=list(
                            map(
                                TaskImageRow._make,
                                zip(
                                    row[9], row[10], row[11], row[12], row[13], row[14], strict=True
                                ),
                            )
                        ),
                        judgments=[],
                        released_rank=_json(row[24]),
                        judgments_done=row[25],
                    )
                current.judgments.append(
                    JudgmentRow(
                        row[15],
                        row[16],
                        row[17],
                        row[18],
                        row[19] or [],
                        row[20],
                        row[21] or [],
                        row[22],
                        row[23],
                        row[26] or [],
                        row[27] or [],
                        row[28],
                    )
                )
    if current is not None:
        yield current
