"""Evaluation metrics exactly as the official HPS v2 release computes them.

- `inversion_score` / `ranking_accuracy`: the HPD v2 test accuracy (train.py
  `inversion_score`): per prompt, 1 - discordant pairs / (n(n-1)/2) between the model's
  ranking and the averaged human rank; equal human ranks never count; mean over prompts.
- `imagereward_accuracy`: the ImageReward test accuracy (train.py `calc_ImageReward`):
  over pairs whose human ranks differ, the share the model orders the same way; a
  predicted tie counts as wrong; mean over prompts.
- `pairwise_accuracy`: the HPD v2 pair accuracy (train.py `evaluate_preference`): the
  share of pairs where the highest score (the first on a tie, as argmax) is the preferred.
- `benchmark_style_score`: the benchmark's per-style figure (evaluation.py): scores in
  consecutive chunks of 80 prompts, the mean of chunk means and their (population) std
  (the benchmark command uses scoring/core/benchmark_stats.py's numpy version, with
  intervals).

Ranks follow the release: 1 (or 0) is best, a larger number is worse; scores: higher is
better.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scoring.core.benchmark_stats import BENCHMARK_CHUNK


def _check_same_length(scores: Sequence[float], ranks: Sequence[float]) -> None:
    if len(scores) != len(ranks):
        raise ValueError(
            f"{len(scores)} score(s) but {len(ranks)} human rank(s); give one rank per image"
        )
    if len(scores) < 2:
        raise ValueError("a group needs at least 2 images to rank")


def ranks_from_scores(scores: Sequence[float]) -> list[int]:
    """Each image's place (0 = best) when sorted by descending score, ties by position."""
    order = sorted(range(len(scores)), key=lambda index: -scores[index])
    places = [0] * len(scores)
    for place, index in enumerate(order):
        places[index] = place
    return places


def inversion_score(predicted_ranks: Sequence[float], human_ranks: Sequence[float]) -> float:
    """1 - discordant pairs / all pairs; a pair tied on either side is never discordant."""
    _check_same_length(predicted_ranks, human_ranks)
    n = len(predicted_ranks)
    discordant = 0
    for i in range(n - 1):
        for j in range(i + 1, n):
            p, h = predicted_ranks[i] - predicted_ranks[j], human_ranks[i] - human_ranks[j]
            if (p > 0 and h < 0) or (p < 0 and h > 0):
                discordant += 1
    return 1 - discordant / (n * (n - 1) / 2)


def ranking_accuracy(
    groups: Sequence[tuple[Sequence[float], Sequence[float]]],
) -> float:
    """HPD v2 test accuracy: mean inversion score over (scores, human ranks) groups."""
    if not groups:
        raise ValueError("no groups to evaluate")
    return sum(inversion_score(ranks_from_scores(scores), ranks) for scores, ranks in groups) / len(
        groups
    )


def imagereward_group_accuracy(scores: Sequence[float], human_ranks: Sequence[float]) -> float:
    """Share of pairs with different human ranks that the scores order the same way."""
    _check_same_length(scores, human_ranks)
    total = correct = 0
    n = len(scores)
    for i in range(n):
        for j in range(i + 1, n):
            if human_ranks[i] == human_ranks[j]:
                continue
            total += 1
            better, worse = (i, j) if human_ranks[i] < human_ranks[j] else (j, i)
            if scores[better] > scores[worse]:
                correct += 1
    if total == 0:
        raise ValueError("every image has the same human rank: the group has no ordered pair")
    return correct / total


def imagereward_accuracy(groups: Sequence[tuple[Sequence[float], Sequence[float]]]) -> float:
    """ImageReward test accuracy: mean over groups of imagereward_group_accuracy."""
    if not groups:
        raise ValueError("no groups to evaluate")
    return sum(imagereward_group_accuracy(s, r) for s, r in groups) / len(groups)


def pairwise_accuracy(pairs: Sequence[tuple[Sequence[float], int]]) -> float:
    """Share of (scores, preferred index) where the argmax (first on a tie) is preferred."""
    if not pairs:
        raise ValueError("no pairs to evaluate")
    correct = 0
    for scores, preferred in pairs:
        if not 0 <= preferred < len(scores):
            raise ValueError(f"preferred index {preferred} is outside a group of {len(scores)}")
        best = max(range(len(scores)), key=lambda index: (scores[index], -index))
        correct += best == preferred
    return correct / len(pairs)


@dataclass(frozen=True)
class StyleScore:
    """One style's benchmark figure: mean and std of its 80-prompt chunk means."""

    mean: float
    std: float
    chunks: int


def benchmark_style_score(scores: Sequence[float]) -> StyleScore:
    """Mean of the means of consecutive 80-score chunks (the last may be shorter), and their
    population std, as evaluation.py prints them. Pass scores already multiplied by 100
    to get the benchmark tables' scale."""
    if not scores:
        raise ValueError("no scores for this style")
    means = [
        sum(chunk) / len(chunk)
        for chunk in (
            scores[i : i + BENCHMARK_CHUNK] for i in range(0, len(scores), BENCHMARK_CHUNK)
        )
    ]
    mean = sum(means) / len(means)
    std = math.sqrt(sum((m - mean) ** 2 for m in means) / len(means))
    return StyleScore(mean=mean, std=std, chunks=len(means))


def benchmark_scores(by_style: dict[str, Sequence[float]]) -> dict[str, StyleScore | float]:
    """Per-style StyleScore plus "Average", the plain mean over every score of all styles."""
    result: dict[str, StyleScore | float] = {
        style: benchmark_style_score(scores) for style, scores in by_style.items()
    }
    every = [score for scores in by_style.values() for score in scores]
    if not every:
        raise ValueError("no scores at all")
    result["Average"] = sum(every) / len(every)
    return result
