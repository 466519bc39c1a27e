"""Agreement between annotators, and each annotator's quality, for a project.

`compute_agreement(project, *, split=None, batch=None, guideline_version=None) -> dict`
returns a JSON-serialisable report (README "Agreement report" lists every key). What
it counts: judgments of the project's tasks, except calibration judgments, judgments of
excluded annotators (ProjectAnnotator.is_excluded), and repeat items (Task.repeat_of;
those only feed self-consistency). Everything is read with three SQL queries and computed
with vectorised numpy; the report is cached in AgreementReport and recomputed only when
the project's judgments (or an annotator's standing) changed.

Statistics (a "ranking" is one judgment: its images best to worst):
- pairwise_agreement: over every image pair of a task judged by two or more annotators,
  the share of annotator pairs that order it the same way (pooled over pairs).
- krippendorff_alpha: ordinal alpha (`krippendorff` package); units are (task, image),
  values the rank positions the annotators gave.
- kendall_w_mean: Kendall's W of each task with two or more annotators, averaged; the
  distribution is in kendall_w_distribution.
- human_ceiling: the HPS v2 "single human" accuracy: each annotator's ranking scored with
  the inversion score (1 - discordant pairs / all pairs; pairs the others tie on never
  count as discordant) against the mean rank of the OTHER annotators of the task;
  averaged over the task's annotators, then over tasks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import krippendorff
import numpy as np
from django.db import connection, transaction
from django.db.models import Count, Max

from annotation.models import (
    AgreementReport,
    Judgment,
    Project,
    ProjectAnnotator,
    QualitySettings,
    User,
)

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


def compute_agreement(
    project: Project | str,
    *,
    split: str | None = None,
    batch: int | None = None,
    guideline_version: str | None = None,
    use_cache: bool = True,
) -> dict[str, Any]:
    """The agreement report of `project` (a Project or its slug), optionally filtered.

    Reads only (the cache row aside); takes no lock. With `use_cache`, a report computed
    from the same judgments is returned as it was stored.
    """
    if isinstance(project, str):
        project = Project.objects.get(slug=project)
    key = f"split={split or ''}|batch={batch or ''}|guideline={guideline_version or ''}"
    fingerprint = Judgment.objects.filter(task__project=project).aggregate(
        count=Count("id"), last=Max("id")
    )
    count, last = fingerprint["count"] or 0, fingerprint["last"] or 0
    if use_cache:
        cached = AgreementReport.objects.filter(
            project=project, key=key, judgment_count=count, last_judgment_id=last
        ).first()
        if cached is not None:
            return _with_current_flags(project, cached.report)
    started = time.perf_counter()
    report = _compute(project, split=split, batch=batch, guideline_version=guideline_version)
    seconds = time.perf_counter() - started
    report["seconds"] = round(seconds, 3)
    with transaction.atomic():
        AgreementReport.objects.update_or_create(
            project=project,
            key=key,
            defaults={
                "report": report,
                "judgment_count": count,
                "last_judgment_id": last,
                "seconds": seconds,
            },
        )
    return report


def _with_current_flags(project: Project, report: dict[str, Any]) -> dict[str, Any]:
    """Quality flags follow the thresholds as they are now, not when the report was cached."""
    thresholds = _thresholds(project)
    for entry in report["annotators"]:
        entry["quality_flags"] = quality_flags(entry, thresholds)
    return report


def forget_reports(project: Project) -> None:
    """Drop the cached reports of a project (an annotator's standing changed)."""
    AgreementReport.objects.filter(project=project).delete()


def inversion_score(ranking: Iterable[int], reference_rank: dict[int, float]) -> float | None:
    """1 - discordant / all pairs of `ranking` (best first) against reference ranks (low = good).

    Pairs the reference ties on are never discordant (as the HPS v2 release scores).
    Images missing from the reference are ignored. None when fewer than two remain.
    """
    items = [image for image in ranking if image in reference_rank]
    pairs = discordant = 0
    for i, better in enumerate(items):
        for worse in items[i + 1 :]:
            pairs += 1
            if reference_rank[better] > reference_rank[worse]:
                discordant += 1
    return 1 - discordant / pairs if pairs else None


# --- reading


@dataclass
class _Judgments:
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

    def __len__(self) -> int:
        return len(self.ids)


def _read_judgments(
    project: Project, split: str | None, batch: int | None, guideline_version: str | None
) -> _Judgments:
    filters = ["t.project_id = %s", "NOT j.is_calibration", "t.repeat_of_id IS NULL"]
    params: list[Any] = [project.pk]
    filters.append(
        "j.annotator_id NOT IN (SELECT annotator_id FROM annotation_projectannotator "
        "WHERE project_id = %s AND is_excluded)"
    )
    params.append(project.pk)
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
               COALESCE(j.display_order[1], -1), COALESCE(j.display_order[2], -1)
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
        return _Judgments(
            empty, empty, empty, empty, np.zeros(0, dtype=str), np.zeros(0, dtype=str),
            np.zeros(0), np.zeros(0), empty, empty, empty, empty, empty,
        )  # fmt: skip
    columns = list(zip(*rows, strict=True))
    size = np.array(columns[8], dtype=np.int64)
    images = np.array(",".join(columns[9]).split(","), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(size)[:-1]]).astype(np.int64)
    return _Judgments(
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
    )


# --- the statistics


@dataclass
class _Group:
    """Judgments ranking `n` images: rank of each image, images in ascending id order."""

    n: int
    rows: IntArray  # judgment indices
    ranks: IntArray  # (rows, n): rank (1 = best) of the image in column c
    ordered_images: IntArray  # (rows, n) image ids ascending
    ranking: IntArray  # (rows, n) image ids best to worst


def _groups(judgments: _Judgments) -> list[_Group]:
    groups = []
    for n in np.unique(judgments.size):
        rows = np.flatnonzero(judgments.size == n)
        index = judgments.offsets[rows][:, None] + np.arange(n)[None, :]
        ranking = judgments.images[index]
        order = np.argsort(ranking, axis=1, kind="stable")
        ordered = np.take_along_axis(ranking, order, axis=1)
        ranks = order + 1  # the rank (1 = best) of each image, columns in ascending id
        groups.append(_Group(int(n), rows, ranks, ordered, ranking))
    return groups


@dataclass
class _Core:
    """Per-judgment results and pooled sums over one subset of judgments."""

    loo_score: FloatArray  # leave-one-out inversion score per judgment (NaN: sole annotator)
    first_won: FloatArray  # 1 if the first-shown image beat the second-shown, NaN unknown
    agreeing_pairs: float
    annotator_pairs: float
    kendall_w: FloatArray  # one per multi-annotator task
    ceiling_per_task: FloatArray
    value_counts: list[FloatArray]  # Krippendorff units x values, per group
    tasks: int
    multi_tasks: int


def _core(judgments: _Judgments, groups: list[_Group], mask: np.ndarray) -> _Core:
    total = len(judgments)
    loo = np.full(total, np.nan)
    first_won = np.full(total, np.nan)
    agreeing = pairs_total = 0.0
    kendall: list[FloatArray] = []
    ceilings: list[FloatArray] = []
    counts: list[FloatArray] = []
    task_ids: list[IntArray] = []
    multi_task_ids: list[IntArray] = []
    for group in groups:
        keep = mask[group.rows]
        if not keep.any():
            continue
        rows, ranks, ranking = group.rows[keep], group.ranks[keep], group.ranking[keep]
        n = group.n
        tasks, task_index = np.unique(judgments.task[rows], return_inverse=True)
        task_ids.append(tasks)
        per_task = np.bincount(task_index, minlength=len(tasks))
        m = per_task[task_index]
        # First-shown image vs second-shown: which is ranked better.
        first, second = judgments.first_shown[rows], judgments.second_shown[rows]
        first_pos = np.where(ranking == first[:, None], np.arange(n), n).min(axis=1)
        second_pos = np.where(ranking == second[:, None], np.arange(n), n).min(axis=1)
        known = (first_pos < n) & (second_pos < n)
        first_won[rows[known]] = (first_pos[known] < second_pos[known]).astype(float)

        multi = m >= 2
        if not multi.any():
            continue
        sums = np.stack(
            [np.bincount(task_index, weights=ranks[:, c], minlength=len(tasks)) for c in range(n)],
            axis=1,
        )  # (tasks, n) sum of ranks per image
        col_a, col_b = np.triu_indices(n, 1)
        own = ranks[:, col_a] - ranks[:, col_b]  # < 0: column a ranked better
        # Leave-one-out: the others' mean rank of each image.
        others = (sums[task_index] - ranks) / np.maximum(m - 1, 1)[:, None]
        others_diff = others[:, col_a] - others[:, col_b]
        discordant = (np.sign(own) * np.sign(others_diff) < 0).sum(axis=1)
        score = 1.0 - discordant / len(col_a)
        loo[rows[multi]] = score[multi]

        task_multi = per_task >= 2
        multi_task_ids.append(tasks[task_multi])
        ceiling_sum = np.bincount(task_index[multi], weights=score[multi], minlength=len(tasks))
        ceilings.append(ceiling_sum[task_multi] / per_task[task_multi])

        # Pairwise agreement: per task and image pair, how many prefer the first image.
        prefer_a = (own < 0).astype(float)
        wins = np.stack(
            [
                np.bincount(task_index, weights=prefer_a[:, p], minlength=len(tasks))
                for p in range(len(col_a))
            ],
            axis=1,
        )[task_multi]
        k = per_task[task_multi][:, None].astype(float)
        agreeing += float((wins * (wins - 1) / 2 + (k - wins) * (k - wins - 1) / 2).sum())
        pairs_total += float((k * (k - 1) / 2).sum() * len(col_a))

        # Kendall's W per task (rankings have no ties).
        mt = per_task[task_multi].astype(float)
        deviations = sums[task_multi] - (mt * (n + 1) / 2)[:, None]
        kendall.append(12 * (deviations**2).sum(axis=1) / (mt**2 * (n**3 - n)))

        # Krippendorff value counts: units (task, image) x rank values 1..n.
        unit = task_index[:, None] * n + np.arange(n)[None, :]
        flat = np.bincount((unit * n + (ranks - 1)).ravel(), minlength=len(tasks) * n * n).reshape(
            len(tasks) * n, n
        )
        unit_multi = np.repeat(task_multi, n)
        counts.append(flat[unit_multi].astype(float))
    return _Core(
        loo_score=loo,
        first_won=first_won,
        agreeing_pairs=agreeing,
        annotator_pairs=pairs_total,
        kendall_w=np.concatenate(kendall) if kendall else np.zeros(0),
        ceiling_per_task=np.concatenate(ceilings) if ceilings else np.zeros(0),
        value_counts=counts,
        tasks=len(np.unique(np.concatenate(task_ids))) if task_ids else 0,
        multi_tasks=len(np.unique(np.concatenate(multi_task_ids))) if multi_task_ids else 0,
    )


def _alpha(value_counts: list[FloatArray]) -> float | None:
    if not value_counts:
        return None
    width = max(counts.shape[1] for counts in value_counts)
    stacked = np.concatenate(
        [np.pad(counts, ((0, 0), (0, width - counts.shape[1]))) for counts in value_counts]
    )
    if stacked.shape[0] == 0 or stacked.sum() == 0:
        return None
    used = stacked.sum(axis=0) > 0
    if used.sum() < 2:
        return None  # one value only: alpha is undefined
    return _number(
        krippendorff.alpha(
            value_counts=stacked[:, used],
            value_domain=np.arange(1, width + 1)[used],
            level_of_measurement="ordinal",
        )
    )


def _summary(judgments: _Judgments, core: _Core, mask: np.ndarray) -> dict[str, Any]:
    first_won = core.first_won[mask]
    known = first_won[~np.isnan(first_won)]
    return {
        "judgments": int(mask.sum()),
        "tasks": core.tasks,
        "multi_annotator_tasks": core.multi_tasks,
        "annotators": len(np.unique(judgments.annotator[mask])),
        "pairwise_agreement": _number(core.agreeing_pairs / core.annotator_pairs)
        if core.annotator_pairs
        else None,
        "annotator_pairs": int(core.annotator_pairs),
        "krippendorff_alpha": _alpha(core.value_counts),
        "kendall_w_mean": _mean(core.kendall_w),
        "human_ceiling": _mean(core.ceiling_per_task),
        "left_share": _mean(known),
    }


def _compute(
    project: Project, *, split: str | None, batch: int | None, guideline_version: str | None
) -> dict[str, Any]:
    judgments = _read_judgments(project, split, batch, guideline_version)
    groups = _groups(judgments)
    everything = np.ones(len(judgments), dtype=bool)
    core = _core(judgments, groups, everything)
    report: dict[str, Any] = {
        "project": project.slug,
        "filters": {"split": split, "batch": batch, "guideline_version": guideline_version},
        "computed_at": datetime.now(UTC).isoformat(),
        **_summary(judgments, core, everything),
        "kendall_w_distribution": _distribution(core.kendall_w),
        "human_ceiling_definition": "mean over tasks of the mean leave-one-out inversion "
        "score of each annotator's ranking against the other annotators' mean rank",
    }
    thresholds = _thresholds(project)
    report["annotators"] = _annotators(project, judgments, core, thresholds)
    report["excluded_annotators"] = sorted(
        _display_name(standing.annotator)
        for standing in ProjectAnnotator.objects.filter(
            project=project, is_excluded=True
        ).select_related("annotator")
    )
    report["by_batch"] = _breakdown(judgments, groups, judgments.batch)
    report["by_split"] = _breakdown(judgments, groups, judgments.split)
    report["by_guideline_version"] = _breakdown(judgments, groups, judgments.guideline)
    report["over_time"] = _over_time(judgments, core)
    return report


def _breakdown(
    judgments: _Judgments, groups: list[_Group], values: np.ndarray
) -> dict[str, dict[str, Any]]:
    result = {}
    for value in np.unique(values):
        mask = values == value
        result[str(value)] = _summary(judgments, _core(judgments, groups, mask), mask)
    return result


def _over_time(judgments: _Judgments, core: _Core) -> list[dict[str, Any]]:
    """Per UTC day: judgments made, and their mean agreement with the others (LOO)."""
    if not len(judgments):
        return []
    day = (judgments.created // 86400).astype(np.int64)
    days, index = np.unique(day, return_inverse=True)
    made = np.bincount(index, minlength=len(days))
    scored = ~np.isnan(core.loo_score)
    score_sum = np.bincount(index[scored], weights=core.loo_score[scored], minlength=len(days))
    score_count = np.bincount(index[scored], minlength=len(days))
    return [
        {
            "date": datetime.fromtimestamp(int(d) * 86400, UTC).date().isoformat(),
            "judgments": int(made[i]),
            "agreement": _number(score_sum[i] / score_count[i]) if score_count[i] else None,
        }
        for i, d in enumerate(days)
    ]


# --- per annotator


def _thresholds(project: Project) -> QualitySettings:
    settings_row = QualitySettings.objects.filter(project=project).first()
    return settings_row or QualitySettings(project=project)


def _annotators(
    project: Project, judgments: _Judgments, core: _Core, thresholds: QualitySettings
) -> list[dict[str, Any]]:
    gold = _gold_accuracy(project)
    repeats = _self_consistency(project)
    ids = sorted(set(judgments.annotator.tolist()) | set(gold) | set(repeats))
    excluded = set(
        ProjectAnnotator.objects.filter(project=project, is_excluded=True).values_list(
            "annotator_id", flat=True
        )
    )
    ids = [annotator for annotator in ids if annotator not in excluded]
    users = {user.pk: user for user in User.objects.filter(pk__in=ids)}
    order = np.argsort(judgments.annotator, kind="stable")
    sorted_annotators = judgments.annotator[order]
    starts = np.searchsorted(sorted_annotators, ids, side="left")
    ends = np.searchsorted(sorted_annotators, ids, side="right")
    rows = []
    for annotator, start, end in zip(ids, starts, ends, strict=True):
        mine = order[start:end]
        durations = judgments.duration_ms[mine]
        durations = durations[~np.isnan(durations)]
        loo = core.loo_score[mine]
        loo = loo[~np.isnan(loo)]
        first_won = core.first_won[mine]
        first_won = first_won[~np.isnan(first_won)]
        gold_scores = gold.get(annotator, [])
        repeat_scores = repeats.get(annotator, [])
        entry: dict[str, Any] = {
            "annotator": _display_name(users[annotator]) if annotator in users else str(annotator),
            "annotator_id": annotator,
            "judgments": len(mine),
            "agreement": _mean(loo),
            "agreement_judgments": len(loo),
            "left_share": _mean(first_won),
            "median_seconds": _number(float(np.median(durations)) / 1000)
            if len(durations)
            else None,
            "gold_accuracy": _mean(np.array(gold_scores)),
            "gold_judgments": len(gold_scores),
            "self_consistency": _mean(np.array(repeat_scores)),
            "repeat_judgments": len(repeat_scores),
        }
        entry["quality_flags"] = quality_flags(entry, thresholds)
        rows.append(entry)
    return rows


def quality_flags(entry: dict[str, Any], thresholds: QualitySettings) -> list[str]:
    """Names of the thresholds an annotator's figures fall below (none before min_judgments)."""
    if entry["judgments"] < thresholds.min_judgments:
        return []
    flags = []
    if entry["agreement"] is not None and entry["agreement"] < thresholds.min_agreement:
        flags.append("low_agreement")
    if entry["gold_accuracy"] is not None and entry["gold_accuracy"] < thresholds.min_gold_accuracy:
        flags.append("low_gold_accuracy")
    left = entry["left_share"]
    if left is not None and abs(left - 0.5) > thresholds.max_position_bias:
        flags.append("position_bias")
    consistency = entry["self_consistency"]
    if consistency is not None and consistency < thresholds.min_self_consistency:
        flags.append("low_self_consistency")
    seconds = entry["median_seconds"]
    if seconds is not None and seconds < thresholds.min_median_seconds:
        flags.append("too_fast")
    return flags


def _gold_accuracy(project: Project) -> dict[int, list[float]]:
    """Per annotator: inversion score of each gold judgment against the gold ranking."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT j.annotator_id, j.ranking, t.gold_ranking
            FROM annotation_judgment j JOIN annotation_task t ON t.id = j.task_id
            WHERE t.project_id = %s AND t.is_gold AND t.gold_ranking IS NOT NULL
              AND NOT j.is_calibration
            """,
            [project.pk],
        )
        rows = cursor.fetchall()
    scores: dict[int, list[float]] = {}
    for annotator, ranking, gold_ranking in rows:
        reference = {image: float(rank) for rank, image in enumerate(gold_ranking)}
        score = inversion_score(ranking, reference)
        if score is not None:
            scores.setdefault(annotator, []).append(score)
    return scores


def _self_consistency(project: Project) -> dict[int, list[float]]:
    """Per annotator: inversion score of each repeat judgment against their first one."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT j.annotator_id, j.ranking, o.ranking
            FROM annotation_judgment j
            JOIN annotation_task t ON t.id = j.task_id
            JOIN annotation_judgment o
              ON o.task_id = t.repeat_of_id AND o.annotator_id = j.annotator_id
            WHERE t.project_id = %s AND t.repeat_of_id IS NOT NULL
            """,
            [project.pk],
        )
        rows = cursor.fetchall()
    scores: dict[int, list[float]] = {}
    for annotator, ranking, earlier in rows:
        reference = {image: float(rank) for rank, image in enumerate(earlier)}
        score = inversion_score(ranking, reference)
        if score is not None:
            scores.setdefault(annotator, []).append(score)
    return scores


def _display_name(user: User) -> str:
    return user.external_id or user.username


# --- numbers


def _number(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else round(value, 6)


def _mean(values: np.ndarray) -> float | None:
    return _number(float(np.mean(values))) if len(values) else None


def _distribution(values: FloatArray) -> dict[str, Any]:
    edges = np.linspace(0.0, 1.0, 11)
    counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=edges)
    quantiles = (
        {f"p{q}": _number(float(np.percentile(values, q))) for q in (10, 25, 50, 75, 90)}
        if len(values)
        else {}
    )
    return {
        "bin_edges": [round(float(edge), 2) for edge in edges],
        "counts": [int(count) for count in counts],
        "quantiles": quantiles,
        "tasks": len(values),
    }
