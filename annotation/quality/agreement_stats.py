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
from core.intervals import PERCENTILES, resampled_counts

AGREEMENT_BOOTSTRAP_SAMPLES = 200


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
        # The rank (1 = best) of each image, columns in ascending id; tied images share
        # the best rank of their level.
        ranks = np.take_along_axis(judgments.ranks[index], order, axis=1)
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
    # Per multi-annotator task, aligned with kendall_w and ceiling_per_task: its id, the
    # agreeing annotator pairs and all annotator pairs it adds to pairwise agreement.
    multi_task_id: IntArray
    task_agreeing: FloatArray
    task_pairs: FloatArray
    value_count_tasks: list[IntArray]  # the task id of each row of value_counts


def _per_task(task_index: IntArray, answer: FloatArray, tasks: int) -> FloatArray:
    """(tasks, pairs): the sum of `answer` (judgments x pairs) over each task's judgments."""
    return np.stack(
        [
            np.bincount(task_index, weights=answer[:, p], minlength=tasks)
            for p in range(answer.shape[1])
        ],
        axis=1,
    )


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
    task_agreeing: list[FloatArray] = []
    task_pairs: list[FloatArray] = []
    count_tasks: list[IntArray] = []
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
        # A tie between them says nothing about which position is favoured.
        position_rank = judgments.ranks[judgments.offsets[rows][:, None] + np.arange(n)[None, :]]
        first_rank = np.take_along_axis(position_rank, np.minimum(first_pos, n - 1)[:, None], 1)
        second_rank = np.take_along_axis(position_rank, np.minimum(second_pos, n - 1)[:, None], 1)
        known &= first_rank[:, 0] != second_rank[:, 0]
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

        # Pairwise agreement: per task and image pair, how many prefer the first image,
        # how many tie them; two annotators agree on a pair when they give it the same
        # answer of the three (first better, second better, about the same).
        wins = _per_task(task_index, (own < 0).astype(float), len(tasks))[task_multi]
        ties = _per_task(task_index, (own == 0).astype(float), len(tasks))[task_multi]
        k = per_task[task_multi][:, None].astype(float)
        losses = k - wins - ties
        agreeing_per_task = (
            wins * (wins - 1) / 2 + losses * (losses - 1) / 2 + ties * (ties - 1) / 2
        ).sum(axis=1)
        pairs_per_task = (k[:, 0] * (k[:, 0] - 1) / 2) * len(col_a)
        task_agreeing.append(agreeing_per_task)
        task_pairs.append(pairs_per_task)
        agreeing += float(agreeing_per_task.sum())
        pairs_total += float(pairs_per_task.sum())

        # Kendall's W per task (without the tie correction: ties are rare and only where
        # a project allows them, annotation/judging/ties.py).
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
        count_tasks.append(np.repeat(tasks[task_multi], n))
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
        multi_task_id=np.concatenate(multi_task_ids) if multi_task_ids else np.zeros(0, np.int64),
        task_agreeing=np.concatenate(task_agreeing) if task_agreeing else np.zeros(0),
        task_pairs=np.concatenate(task_pairs) if task_pairs else np.zeros(0),
        value_count_tasks=count_tasks,
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


def agreement_intervals(
    core: Core, samples: int = AGREEMENT_BOOTSTRAP_SAMPLES, seed: int = 0
) -> dict[str, Any]:
    """Bootstrap 95% intervals of pairwise agreement, alpha, Kendall's W and the human
    ceiling, resampling tasks judged by two or more annotators with replacement.

    A task's annotators judge the same images, so the task is the unit whose data are
    independent; each draw keeps all of a drawn task's judgments (its units for alpha).
    Each figure is recomputed from the draw exactly as from the data. Fewer than two
    such tasks: no interval (None).
    """
    result: dict[str, Any] = {
        "bootstrap_samples": samples,
        "resampled": "tasks",
        "tasks": len(np.unique(core.multi_task_id)),
    }
    names = ("pairwise_agreement", "krippendorff_alpha", "kendall_w_mean", "human_ceiling")
    if result["tasks"] < 2:
        return result | dict.fromkeys(names)
    tasks, position = np.unique(core.multi_task_id, return_inverse=True)
    units = np.concatenate(
        [np.pad(c, ((0, 0), (0, max(v.shape[1] for v in core.value_counts) - c.shape[1])))
         for c in core.value_counts]
    )  # fmt: skip
    unit_task = np.searchsorted(tasks, np.concatenate(core.value_count_tasks))
    draws: dict[str, list[float]] = {name: [] for name in names}
    for drawn in resampled_counts(len(tasks), samples, seed):
        weight = drawn[position].astype(np.float64)
        pairs = float((weight * core.task_pairs).sum())
        draws["pairwise_agreement"].append(
            float((weight * core.task_agreeing).sum()) / pairs if pairs else np.nan
        )
        draws["kendall_w_mean"].append(float((weight * core.kendall_w).sum() / weight.sum()))
        draws["human_ceiling"].append(float((weight * core.ceiling_per_task).sum() / weight.sum()))
        alpha = ordinal_alpha([np.repeat(units, drawn[unit_task], axis=0)])
        draws["krippendorff_alpha"].append(np.nan if alpha is None else alpha)
    for name, values in draws.items():
        finite = np.array(values)[np.isfinite(values)]
        result[name] = (
            [number(bound) for bound in np.percentile(finite, PERCENTILES)] if len(finite) else None
        )
    return result


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
