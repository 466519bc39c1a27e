"""The generator leaderboard: Bradley-Terry strengths per generator from the pair rows,
with bootstrap 95% intervals, overall and per prompt style (HPS v2's benchmark table,
made from live judgments)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import choix
import numpy as np
from django.db.models import Count

from annotation.models import Project
from annotation.quality import counted_pairs
from scoring.queries import mean_score_by_generator

BOOTSTRAP_SAMPLES = 200
# A little regularisation keeps strengths finite when a generator never lost (or won).
ALPHA = 0.01


def mean_scores_for(project: Project) -> Mapping[str, float] | None:
    """Generator -> mean HPS score of the active scorer model, or None.

    The scoring app's stored image scores of the active ModelVersion, averaged per
    generator (for the leaderboard and the export datasheet); None when no version is
    active or nothing is scored yet, shown as "not computed".
    """
    return mean_score_by_generator(project) or None


def pair_counts(project: Project) -> dict[str, dict[tuple[str, str], int]]:
    """(winner generator, loser generator) -> count, per prompt style.

    Counts the pair rows of the judgments that count (annotation/quality/counted.py),
    gold pairs included: what an export keeps unless it leaves gold out. One grouped
    query: memory does not grow with the number of pairs.
    """
    rows = (
        counted_pairs(project)
        .values_list("winner__generator", "loser__generator", "task__prompt__style")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_style: dict[str, dict[tuple[str, str], int]] = defaultdict(dict)
    for winner, loser, style, n in rows:
        by_style[style][(winner or "unknown", loser or "unknown")] = n
    return dict(by_style)


def fit_strengths(
    counts: Mapping[tuple[str, str], int], samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> dict[str, Any]:
    """Bradley-Terry strengths (log scale, mean 0) with bootstrap 95% intervals.

    The bootstrap resamples the comparisons (multinomially over the pair counts) and
    refits; `seed` makes the intervals reproducible. The fit is a pure function of its
    arguments, so results are memoised per process: a page view refits only the tables
    whose counts changed since the last one.
    """
    table = _fit_strengths_cached(tuple(sorted(counts.items())), samples, seed)
    return {
        "comparisons": table["comparisons"],
        "generators": [dict(row) for row in table["generators"]],
    }


@lru_cache(maxsize=256)
def _fit_strengths_cached(
    counts_items: tuple[tuple[tuple[str, str], int], ...], samples: int, seed: int
) -> dict[str, Any]:
    counts = dict(counts_items)
    names = sorted({g for pair in counts for g in pair})
    total = sum(n for (w, loser), n in counts.items() if w != loser)
    if len(names) < 2 or total == 0:
        return {"comparisons": total, "generators": []}
    index = {name: i for i, name in enumerate(names)}
    matrix = np.zeros((len(names), len(names)))
    for (winner, loser), n in counts.items():
        if winner != loser:
            matrix[index[winner], index[loser]] += n
    strengths = choix.ilsr_pairwise_dense(matrix, alpha=ALPHA)
    rng = np.random.default_rng(seed)
    flat = matrix.ravel()
    draws = np.empty((samples, len(names)))
    for k in range(samples):
        resampled = rng.multinomial(int(total), flat / total).reshape(matrix.shape)
        draws[k] = choix.ilsr_pairwise_dense(resampled.astype(float), alpha=ALPHA)
    low, high = np.percentile(draws, [2.5, 97.5], axis=0)
    wins, played = matrix.sum(axis=1), matrix.sum(axis=1) + matrix.sum(axis=0)
    rows: list[dict[str, Any]] = [
        {
            "generator": name,
            "strength": round(float(strengths[i]), 4),
            "low": round(float(low[i]), 4),
            "high": round(float(high[i]), 4),
            "comparisons": int(played[i]),
            "win_rate": round(float(wins[i] / played[i]), 4) if played[i] else None,
        }
        for i, name in enumerate(names)
    ]
    rows.sort(key=lambda row: (-row["strength"], row["generator"]))
    return {"comparisons": int(total), "generators": rows}


def generator_leaderboard(project: Project, samples: int = BOOTSTRAP_SAMPLES) -> dict[str, Any]:
    """The leaderboard of a project: overall and per style, plus mean model scores.

    Read-only; deterministic for unchanged data (a fixed bootstrap seed).
    """
    by_style = pair_counts(project)
    overall: dict[tuple[str, str], int] = defaultdict(int)
    for counts in by_style.values():
        for pair, n in counts.items():
            overall[pair] += n
    mean_scores = mean_scores_for(project)
    table = fit_strengths(overall, samples)
    if mean_scores is not None:
        for row in table["generators"]:
            row["mean_score"] = mean_scores.get(row["generator"])
    return {
        "project": project.slug,
        "bootstrap_samples": samples,
        "overall": table,
        "styles": {
            style or "not classified": fit_strengths(counts, samples)
            for style, counts in sorted(by_style.items())
        },
        "mean_scores": mean_scores,
    }
