"""Accuracy of a scorer on ranked test groups, each figure with a bootstrap interval.

Per group (one prompt, its images, their averaged human ranks; 1 = best):

- ranking accuracy: the release's inversion score (its evaluate_rank; scoring/core/
  metrics.py `inversion_score` on the model's ranks), averaged over groups;
- pairwise accuracy: over every pair of images with different human ranks, pooled, the
  share where the higher score (the first image on a tie, as the release's argmax) is
  the preferred one;
- ImageReward-style accuracy: per group, the share of such pairs ordered the same way, a
  predicted tie counting as wrong (scoring/core/metrics.py `imagereward_group_accuracy`),
  averaged over the groups that have an ordered pair.

Groups (prompts) are what is independent, so the 95% percentile bootstrap resamples
groups; per-generator figures pool the pairs that involve the generator, per-style
figures use the groups of that style, each resampled by group the same way.

Generalisation: given the generators a scorer was kept from training on (`held_out`),
the pairwise accuracy is also reported on "seen" pairs (both images by generators it
trained on) and "held_out" pairs (at least one by a held-out generator), each pooled
and resampled by group like the per-generator figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from scoring.core.benchmark_stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES
from scoring.core.metrics import imagereward_group_accuracy, inversion_score, ranks_from_scores


@dataclass(frozen=True)
class ScoredGroup:
    """One test prompt: model scores and human ranks per image, generators if known."""

    scores: Sequence[float]
    ranks: Sequence[float]
    generators: Sequence[str] | None = None
    style: str | None = None


@dataclass(frozen=True)
class Estimate:
    value: float
    ci_low: float
    ci_high: float
    count: int

    def as_json(self, unit: str) -> dict[str, float | int]:
        return {
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            unit: self.count,
        }


@dataclass(frozen=True)
class _PerGroup:
    rank: NDArray[np.float64]  # inversion score per group
    imagereward: NDArray[np.float64]  # nan where the group has no ordered pair
    correct: NDArray[np.float64]  # pairs the argmax gets right
    pairs: NDArray[np.float64]  # pairs with different human ranks
    by_generator: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]
    by_exposure: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]]


def _pairs(group: ScoredGroup) -> list[tuple[int, int, bool]]:
    """(i, j, argmax right) for each pair with different human ranks."""
    found = []
    n = len(group.scores)
    for i in range(n):
        for j in range(i + 1, n):
            if group.ranks[i] == group.ranks[j]:
                continue
            preferred = i if group.ranks[i] < group.ranks[j] else j
            predicted = i if group.scores[i] >= group.scores[j] else j
            found.append((i, j, preferred == predicted))
    return found


EXPOSURES = ("seen", "held_out")


def _per_group(groups: Sequence[ScoredGroup], held_out: frozenset[str]) -> _PerGroup:
    size = len(groups)
    rank = np.empty(size)
    imagereward = np.full(size, np.nan)
    correct = np.zeros(size)
    pairs = np.zeros(size)
    generator_names = sorted(
        {name for group in groups if group.generators for name in group.generators}
    )
    by_generator = {name: (np.zeros(size), np.zeros(size)) for name in generator_names}
    by_exposure = {name: (np.zeros(size), np.zeros(size)) for name in EXPOSURES}
    for index, group in enumerate(groups):
        if group.generators is not None and len(group.generators) != len(group.scores):
            raise ValueError(
                f"group {index}: {len(group.generators)} generator(s) for "
                f"{len(group.scores)} image(s); give one per image"
            )
        rank[index] = inversion_score(ranks_from_scores(group.scores), group.ranks)
        found = _pairs(group)
        if found:
            imagereward[index] = imagereward_group_accuracy(group.scores, group.ranks)
        correct[index] = sum(right for _, _, right in found)
        pairs[index] = len(found)
        if group.generators is None:
            continue
        for i, j, right in found:
            for name in {group.generators[i], group.generators[j]}:
                right_count, total = by_generator[name]
                right_count[index] += right
                total[index] += 1
            if held_out:
                unseen = group.generators[i] in held_out or group.generators[j] in held_out
                right_count, total = by_exposure["held_out" if unseen else "seen"]
                right_count[index] += right
                total[index] += 1
    return _PerGroup(rank, imagereward, correct, pairs, by_generator, by_exposure)


def _interval(samples: NDArray[np.float64], confidence: float) -> tuple[float, float]:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def _mean_estimate(
    values: NDArray[np.float64], draws: NDArray[np.int64], confidence: float
) -> Estimate | None:
    known = np.isfinite(values)
    if not known.any():
        return None
    resampled = values[draws]
    with np.errstate(invalid="ignore"):
        means = np.nansum(resampled, axis=1) / np.isfinite(resampled).sum(axis=1)
    low, high = _interval(means, confidence)
    return Estimate(float(np.nanmean(values)), low, high, int(known.sum()))


def _ratio_estimate(
    right: NDArray[np.float64],
    total: NDArray[np.float64],
    draws: NDArray[np.int64],
    confidence: float,
) -> Estimate | None:
    if total.sum() == 0:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = right[draws].sum(axis=1) / total[draws].sum(axis=1)
    low, high = _interval(ratios, confidence)
    return Estimate(float(right.sum() / total.sum()), low, high, int(total.sum()))


@dataclass(frozen=True)
class Accuracies:
    ranking: Estimate | None
    pairwise: Estimate | None
    imagereward: Estimate | None
    groups: int

    def as_json(self) -> dict[str, object]:
        return {
            "groups": self.groups,
            "ranking_accuracy": self.ranking.as_json("groups") if self.ranking else None,
            "pairwise_accuracy": self.pairwise.as_json("pairs") if self.pairwise else None,
            "imagereward_accuracy": (
                self.imagereward.as_json("groups") if self.imagereward else None
            ),
        }


@dataclass(frozen=True)
class EvaluationReport:
    overall: Accuracies
    by_style: dict[str, Accuracies]
    by_generator: dict[str, Estimate]
    held_out: frozenset[str] = frozenset()  # generators kept out of the scorer's training
    by_exposure: dict[str, Estimate] | None = None  # "seen"/"held_out" when held_out is given

    def as_json(self) -> dict[str, object]:
        found: dict[str, object] = {
            **self.overall.as_json(),
            "by_style": {style: acc.as_json() for style, acc in self.by_style.items()},
            "by_generator": {
                name: {
                    "pairwise_accuracy": estimate.as_json("pairs"),
                    "held_out": name in self.held_out,
                }
                for name, estimate in self.by_generator.items()
            },
        }
        if self.by_exposure is not None:
            found["held_out_generators"] = sorted(self.held_out)
            found["by_exposure"] = {
                name: (
                    {"pairwise_accuracy": self.by_exposure[name].as_json("pairs")}
                    if name in self.by_exposure
                    else None
                )
                for name in EXPOSURES
            }
        return found


def _accuracies(
    per: _PerGroup, rows: NDArray[np.int64], resamples: int, confidence: float, seed: int
) -> Accuracies:
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, rows.size, size=(resamples, rows.size))
    return Accuracies(
        ranking=_mean_estimate(per.rank[rows], draws, confidence),
        pairwise=_ratio_estimate(per.correct[rows], per.pairs[rows], draws, confidence),
        imagereward=_mean_estimate(per.imagereward[rows], draws, confidence),
        groups=int(rows.size),
    )


def evaluate_groups(
    groups: Sequence[ScoredGroup],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    held_out: frozenset[str] = frozenset(),
) -> EvaluationReport:
    """The three accuracies overall and per style, pairwise accuracy per generator, and
    with `held_out` (generators the scorer never trained on) on seen vs held-out pairs.
    A held-out name must be a generator of the groups (a typo would report nothing)."""
    if not groups:
        raise ValueError("no test groups to evaluate")
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    for index, group in enumerate(groups):
        if len(group.scores) != len(group.ranks) or len(group.scores) < 2:
            raise ValueError(
                f"group {index}: {len(group.scores)} score(s) and {len(group.ranks)} rank(s); "
                "a group needs one rank per image and at least 2 images"
            )
    held_out = frozenset(held_out)
    if held_out:
        known = {name for group in groups if group.generators for name in group.generators}
        missing = sorted(held_out - known)
        if missing:
            raise ValueError(
                f"held-out generator(s) {', '.join(missing)} made none of the test images; "
                f"the test generators are {', '.join(sorted(known)) or 'not known'}"
            )
    per = _per_group(groups, held_out)
    every = np.arange(len(groups))
    overall = _accuracies(per, every, resamples, confidence, seed)
    styles = sorted({group.style for group in groups if group.style})
    by_style = {
        style: _accuracies(
            per,
            np.array([i for i, g in enumerate(groups) if g.style == style]),
            resamples,
            confidence,
            seed,
        )
        for style in styles
    }
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(groups), size=(resamples, len(groups)))
    by_generator = {}
    for name, (right, total) in per.by_generator.items():
        estimate = _ratio_estimate(right, total, draws, confidence)
        if estimate is not None:
            by_generator[name] = estimate
    by_exposure = None
    if held_out:
        by_exposure = {}
        for name, (right, total) in per.by_exposure.items():
            estimate = _ratio_estimate(right, total, draws, confidence)
            if estimate is not None:
                by_exposure[name] = estimate
    return EvaluationReport(
        overall=overall,
        by_style=by_style,
        by_generator=by_generator,
        held_out=held_out,
        by_exposure=by_exposure,
    )
