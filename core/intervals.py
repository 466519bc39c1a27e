"""Intervals beside estimates: the cluster bootstrap's draws, Wilson's score interval and
the exact Poisson interval of a count (rates: annotation/judging/collection.py).

One place for the rules every statistic with an interval uses (the leaderboard in
annotation/leaderboard/resampling.py, the agreement report in
annotation/quality/agreement_stats.py, per-annotator figures in
annotation/quality/annotator_stats.py); docs/hpd_v2.md states the formulas.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from scipy.stats import chi2

LEVEL = 0.95
Z = 1.959963984540054  # the standard normal's 97.5th percentile: a two-sided 95% interval
PERCENTILES = (2.5, 97.5)


def resampled_counts(clusters: int, samples: int, seed: int) -> Iterator[np.ndarray]:
    """One array per bootstrap sample: how many times each of `clusters` independent
    units (prompts, tasks) is drawn when `clusters` are drawn with replacement.

    Everything measured on one unit travels with it. One sample at a time, so memory
    stays O(clusters); `seed` makes the draws reproducible.
    """
    rng = np.random.default_rng(seed)
    for _ in range(samples):
        yield np.bincount(rng.integers(0, clusters, size=clusters), minlength=clusters)


def wilson_interval(mean: float | None, n: int) -> tuple[float, float] | None:
    """Wilson's 95% score interval for the mean of `n` values in [0, 1], or None.

    Exact for shares of 0/1 outcomes; for scores between 0 and 1 it is conservative
    (their variance is at most mean x (1 - mean), the variance the interval assumes).
    Sound at small `n`: 5 agreeing judgments out of 5 give [0.57, 1], not [1, 1].
    """
    if mean is None or n <= 0 or math.isnan(mean):
        return None
    mean = min(max(mean, 0.0), 1.0)
    z2 = Z * Z
    denominator = 1 + z2 / n
    centre = (mean + z2 / (2 * n)) / denominator
    half = Z / denominator * math.sqrt(mean * (1 - mean) / n + z2 / (4 * n * n))
    return round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6)


def poisson_interval(count: int) -> tuple[float, float]:
    """The exact (Garwood) 95% interval for the mean of a Poisson count: for `count`
    events seen in one unit of time, the rates that are not rejected. 0 events give
    [0, 3.69]; 10 give [4.80, 18.39]."""
    alpha = 1 - LEVEL
    low = 0.0 if count == 0 else float(chi2.ppf(alpha / 2, 2 * count)) / 2
    high = float(chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2
    return round(low, 6), round(high, 6)
