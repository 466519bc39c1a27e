"""The agreement statistics over judgment arrays: vectorised numpy, no database access.

See annotation/quality/agreement.py for what each statistic means.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import krippendorff
import numpy as np

from annotation.quality.agreement_data import FloatArray, IntArray, JudgmentArrays


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


def ranked_groups_ceiling(groups: Iterable[Sequence[Sequence[int]]]) -> float | None:
    """The human ceiling of ranked groups written as rank lists (one list per annotator,
    the rank of each image, 1 = best, all in the same image order), as the agreement
    report defines it: each annotator's ranking scored with inversion_score against the
    mean rank of the group's other annotators, averaged over the group's annotators, then
    over the groups with two or more annotators. None when there is no such group."""
    per_group: list[float] = []
    for raw in groups:
        if len(raw) < 2:
            continue
        scores = []
        for k, ranks in enumerate(raw):
            others = [other for j, other in enumerate(raw) if j != k]
            reference = {
                image: sum(other[image] for other in others) / len(others)
                for image in range(len(ranks))
            }
            ranking = sorted(range(len(ranks)), key=lambda image: ranks[image])
            score = inversion_score(ranking, reference)
            if score is not None:
                scores.append(score)
        if scores:
            per_group.append(sum(scores) / len(scores))
    return sum(per_group) / len(per_group) if per_group else None


@dataclass
class Group:
    """Judgments ranking `n` images: rank of each image, images in ascending id order."""

    n: int
    rows: IntArray  # judgment indices
    ranks: IntArray  # (rows, n): rank (1 = best) of the image in column c
    ordered_images: IntArray  # (rows, n) image ids ascending
    ranking: IntArray  # (rows, n) image ids best to worst


def rank_groups(judgments: JudgmentArrays) -> list[Group]:
    groups = []
    for n in np.unique(judgments.size):
        rows = np.flatnonzero(judgments.size == n)
        index = judgments.offsets[rows][:, None] + np.arange(n)[None, :]
        ranking = judgments.images[index]
        order = np.argsort(ranking, axis=1, kind="stable")
        ordered = np.take_along_axis(ranking, order, axis=1)
        ranks = order + 1  # the rank (1 = best) of each image, columns in ascending id
        groups.append(Group(int(n), rows, ranks, ordered, ranking))
    return groups


@dataclass
class Core:
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


def core_statistics(judgments: JudgmentArrays, groups: list[Group], mask: np.ndarray) -> Core:
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
    return Core(
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


def ordinal_alpha(value_counts: list[FloatArray]) -> float | None:
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
    return number(
        krippendorff.alpha(
            value_counts=stacked[:, used],
            value_domain=np.arange(1, width + 1)[used],
            level_of_measurement="ordinal",
        )
    )


def summary(judgments: JudgmentArrays, core: Core, mask: np.ndarray) -> dict[str, Any]:
    first_won = core.first_won[mask]
    known = first_won[~np.isnan(first_won)]
    return {
        "judgments": int(mask.sum()),
        "tasks": core.tasks,
        "multi_annotator_tasks": core.multi_tasks,
        "annotators": len(np.unique(judgments.annotator[mask])),
        "pairwise_agreement": number(core.agreeing_pairs / core.annotator_pairs)
        if core.annotator_pairs
        else None,
        "annotator_pairs": int(core.annotator_pairs),
        "krippendorff_alpha": ordinal_alpha(core.value_counts),
        "kendall_w_mean": mean(core.kendall_w),
        "human_ceiling": mean(core.ceiling_per_task),
        "left_share": mean(known),
    }


def breakdown(
    judgments: JudgmentArrays, groups: list[Group], values: np.ndarray
) -> dict[str, dict[str, Any]]:
    result = {}
    for value in np.unique(values):
        mask = values == value
        result[str(value)] = summary(judgments, core_statistics(judgments, groups, mask), mask)
    return result


def over_time(judgments: JudgmentArrays, core: Core) -> list[dict[str, Any]]:
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
            "agreement": number(score_sum[i] / score_count[i]) if score_count[i] else None,
        }
        for i, d in enumerate(days)
    ]


def number(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else round(value, 6)


def mean(values: np.ndarray) -> float | None:
    return number(float(np.mean(values))) if len(values) else None


def distribution(values: FloatArray) -> dict[str, Any]:
    edges = np.linspace(0.0, 1.0, 11)
    counts, _ = np.histogram(np.clip(values, 0.0, 1.0), bins=edges)
    quantiles = (
        {f"p{q}": number(float(np.percentile(values, q))) for q in (10, 25, 50, 75, 90)}
        if len(values)
        else {}
    )
    return {
        "bin_edges": [round(float(edge), 2) for edge in edges],
        "counts": [int(count) for count in counts],
        "quantiles": quantiles,
        "tasks": len(values),
    }
