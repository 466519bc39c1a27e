"""The HPS v2 benchmark's figures, and the intervals the release does not give.

The release's evaluation.py (`evaluate_benchmark`) scores every image as 100 x the raw
cosine, then per style prints the mean of the means of consecutive 80-prompt chunks and
their std (numpy's population std, ddof=0), and for "Average" the plain mean over every
image of every style. `style_figure` and `average_figure` compute exactly those.

Beside them, percentile bootstrap intervals (95% unless told) resampled over prompts,
the unit that is independent in the benchmark: a style's interval recomputes the same
chunk statistic on prompts drawn with replacement; the average's resamples each style's
prompts within that style (the styles' sizes are fixed by the benchmark). A paired
comparison of two generators (or two scorers) on the same prompts resamples the prompts
once for both, which is the same as bootstrapping the per-prompt difference, since the
chunk statistic is linear in the scores.

Everything takes scores already multiplied by 100 (the benchmark tables' scale).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

BENCHMARK_CHUNK = 80
BENCHMARK_STYLES = ("anime", "concept-art", "paintings", "photo")
DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class StyleFigure:
    """One style: the release's mean and std of chunk means, with a bootstrap interval."""

    mean: float
    std: float
    ci_low: float
    ci_high: float
    images: int

    def as_json(self) -> dict[str, float | int]:
        return {
            "mean": self.mean,
            "std": self.std,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "images": self.images,
        }


@dataclass(frozen=True)
class AverageFigure:
    """The mean over every image of every style, with a bootstrap interval."""

    mean: float
    ci_low: float
    ci_high: float
    images: int

    def as_json(self) -> dict[str, float | int]:
        return {
            "mean": self.mean,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "images": self.images,
        }


@dataclass(frozen=True)
class PairedDifference:
    """First minus second on the prompts both have: the difference of their figures, a
    paired bootstrap interval, and whether that interval excludes zero."""

    difference: float
    ci_low: float
    ci_high: float
    prompts: int

    @property
    def excludes_zero(self) -> bool:
        return self.ci_low > 0 or self.ci_high < 0

    def as_json(self) -> dict[str, float | int | bool]:
        return {
            "difference": self.difference,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "excludes_zero": self.excludes_zero,
            "prompts": self.prompts,
        }


def _as_array(scores: Sequence[float] | FloatArray, what: str) -> FloatArray:
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"no scores for {what}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{what} has a score that is not a finite number")
    return array


def chunk_means(scores: FloatArray) -> FloatArray:
    """Means of consecutive chunks of 80 along the last axis (the last may be shorter)."""
    size = scores.shape[-1]
    full = size // BENCHMARK_CHUNK * BENCHMARK_CHUNK
    parts = []
    if full:
        shape = (*scores.shape[:-1], full // BENCHMARK_CHUNK, BENCHMARK_CHUNK)
        parts.append(scores[..., :full].reshape(shape).mean(axis=-1))
    if full < size:
        parts.append(scores[..., full:].mean(axis=-1, keepdims=True))
    return np.concatenate(parts, axis=-1)


def chunk_statistic(scores: FloatArray) -> FloatArray:
    """The release's style score along the last axis: the mean of the chunk means."""
    statistic: FloatArray = chunk_means(scores).mean(axis=-1)
    return statistic


def _interval(samples: FloatArray, confidence: float) -> tuple[float, float]:
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def _check(resamples: int, confidence: float) -> None:
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def _resampled(scores: FloatArray, resamples: int, rng: np.random.Generator) -> FloatArray:
    """(resamples, n) scores, prompts drawn with replacement."""
    return scores[rng.integers(0, scores.size, size=(resamples, scores.size))]


def style_figure(
    scores: Sequence[float] | FloatArray,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    what: str = "this style",
) -> StyleFigure:
    """A style's benchmark figure from its scores x100, in prompt order."""
    _check(resamples, confidence)
    array = _as_array(scores, what)
    means = chunk_means(array)
    rng = np.random.default_rng(seed)
    low, high = _interval(chunk_statistic(_resampled(array, resamples, rng)), confidence)
    return StyleFigure(
        mean=float(np.mean(means)),
        std=float(np.std(means)),
        ci_low=low,
        ci_high=high,
        images=int(array.size),
    )


def average_figure(
    by_style: Mapping[str, Sequence[float] | FloatArray],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> AverageFigure:
    """The mean over every image of all styles; the interval resamples within styles."""
    _check(resamples, confidence)
    arrays = [_as_array(scores, style) for style, scores in by_style.items()]
    if not arrays:
        raise ValueError("no styles to average")
    rng = np.random.default_rng(seed)
    total = sum(int(array.size) for array in arrays)
    sums = sum(_resampled(array, resamples, rng).sum(axis=-1) for array in arrays)
    low, high = _interval(np.asarray(sums) / total, confidence)
    every = np.concatenate(arrays)
    return AverageFigure(mean=float(np.mean(every)), ci_low=low, ci_high=high, images=total)


def paired_difference(
    first: Sequence[float] | FloatArray,
    second: Sequence[float] | FloatArray,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
    what: str = "this style",
) -> PairedDifference:
    """Chunk statistic of `first` minus that of `second`, prompt by prompt aligned (the
    same prompts in the same order), with the paired bootstrap interval."""
    _check(resamples, confidence)
    a, b = _as_array(first, what), _as_array(second, what)
    if a.size != b.size:
        raise ValueError(
            f"{what}: {a.size} and {b.size} scores; a paired comparison needs one score "
            "per prompt on both sides"
        )
    difference = a - b
    rng = np.random.default_rng(seed)
    low, high = _interval(chunk_statistic(_resampled(difference, resamples, rng)), confidence)
    return PairedDifference(
        difference=float(chunk_statistic(difference)),
        ci_low=low,
        ci_high=high,
        prompts=int(a.size),
    )


def paired_average_difference(
    first: Mapping[str, Sequence[float] | FloatArray],
    second: Mapping[str, Sequence[float] | FloatArray],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> PairedDifference:
    """Difference of the averages over every aligned prompt, resampled within styles."""
    _check(resamples, confidence)
    if set(first) != set(second):
        raise ValueError("both sides of a paired comparison need the same styles")
    differences = []
    for style in first:
        a, b = _as_array(first[style], style), _as_array(second[style], style)
        if a.size != b.size:
            raise ValueError(f"{style}: {a.size} and {b.size} scores; align the prompts first")
        differences.append(a - b)
    if not differences:
        raise ValueError("no styles to compare")
    rng = np.random.default_rng(seed)
    total = sum(int(d.size) for d in differences)
    sums = sum(_resampled(d, resamples, rng).sum(axis=-1) for d in differences)
    low, high = _interval(np.asarray(sums) / total, confidence)
    return PairedDifference(
        difference=float(np.mean(np.concatenate(differences))),
        ci_low=low,
        ci_high=high,
        prompts=total,
    )
