"""The leaderboard's statistics over plain mappings: numpy and choix, no database.

Both resample prompts with replacement (a cluster bootstrap): a prompt's judgments share
its images, and one N-way ranking implies N(N-1)/2 pairs that are not independent of
each other, so resampling pairs one by one would make the intervals too narrow.
tests/annotation/leaderboard/test_coverage.py checks the 95% intervals' coverage over
independent re-draws of a synthetic world.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from functools import lru_cache
from itertools import islice
from typing import Any

import choix
import numpy as np
from scipy import sparse

from core.intervals import PERCENTILES, resampled_counts

BOOTSTRAP_SAMPLES = 200
# A little regularisation keeps strengths finite when a generator never lost (or won).
ALPHA = 0.01
# Bootstrap draws multiplied at once: 32 x prompts counts in memory at a time.
DRAWS_PER_CHUNK = 32

# One judgment: (its prompt, {(winner generator, loser generator): pairs it implies}); a
# tie adds half a pair each way (annotation/leaderboard/standings.py).
JudgedPairs = tuple[Hashable, Mapping[tuple[str, str], float]]


def fit_strengths(
    judgments: Sequence[JudgedPairs], samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> dict[str, Any]:
    """Bradley-Terry strengths (log scale, mean 0) with bootstrap 95% intervals.

    `judgments` holds one entry per judgment: its prompt and the (winner, loser)
    generator pairs it implies (a pair of the same generator is ignored). The fit pools
    every pair; the bootstrap draws prompts with replacement, each with all its
    judgments, and refits; `seed` makes the intervals reproducible. With fewer than two
    prompts there is no interval (low and high are None). `comparisons` counts
    judgments, `pairs` the pairs they imply.

    A pure function of its arguments, so results are memoised per process: a page view
    refits only the tables whose judgments changed since the last one.
    """
    canonical = tuple(sorted((prompt, tuple(sorted(pairs.items()))) for prompt, pairs in judgments))
    table = _fit_strengths_cached(canonical, samples, seed)
    return {**table, "generators": [dict(row) for row in table["generators"]]}


@lru_cache(maxsize=256)
def _fit_strengths_cached(
    judgments: tuple[tuple[Hashable, tuple[tuple[tuple[str, str], float], ...]], ...],
    samples: int,
    seed: int,
) -> dict[str, Any]:
    names = sorted(
        {
            g
            for _prompt, pairs in judgments
            for (w, loser), n in pairs
            if w != loser and n > 0
            for g in (w, loser)
        }
    )
    index = {name: i for i, name in enumerate(names)}
    size = len(names)
    prompt_index: dict[Hashable, int] = {}
    entry_judgment: list[int] = []
    entry_prompt: list[int] = []
    entry_cell: list[int] = []
    entry_n: list[float] = []
    kept = 0
    for prompt, pairs in judgments:
        cells = [
            (index[w] * size + index[loser], count)
            for (w, loser), count in pairs
            if w != loser and count > 0
        ]
        if not cells:
            continue
        cluster = prompt_index.setdefault(prompt, len(prompt_index))
        for flat_cell, count in cells:
            entry_judgment.append(kept)
            entry_prompt.append(cluster)
            entry_cell.append(flat_cell)
            entry_n.append(count)
        kept += 1
    total = round(sum(entry_n))
    empty = {"comparisons": kept, "pairs": total, "prompts": len(prompt_index), "generators": []}
    if size < 2 or total == 0:
        return empty
    cell = np.array(entry_cell, dtype=np.int64)
    n = np.array(entry_n, dtype=np.float64)
    matrix = np.asarray(
        np.bincount(cell, weights=n, minlength=size * size), dtype=np.float64
    ).reshape(size, size)
    strengths = choix.ilsr_pairwise_dense(matrix, alpha=ALPHA)
    low = high = None
    if len(prompt_index) >= 2:
        prompts = len(prompt_index)
        # Prompts x cells, summed over each prompt's judgments: a draw's win matrix is the
        # drawn counts times this, a sparse product (chunks bound the memory).
        per_prompt = sparse.csr_matrix(
            (n, (np.array(entry_prompt, dtype=np.int64), cell)), shape=(prompts, size * size)
        )
        draws_iter = resampled_counts(prompts, samples, seed)
        chunks = []
        for start in range(0, samples, DRAWS_PER_CHUNK):
            drawn = np.stack(list(islice(draws_iter, min(DRAWS_PER_CHUNK, samples - start))))
            chunks.append(np.asarray(per_prompt.T @ drawn.T.astype(np.float64)).T)
        draws = ilsr_batch(np.concatenate(chunks).reshape(samples, size, size), strengths)
        low, high = np.percentile(draws, PERCENTILES, axis=0)
    # Judgments in which each generator took part (as winner or loser of a pair).
    judgment = np.array(entry_judgment, dtype=np.int64)
    involved = np.unique(
        np.concatenate([judgment * size + cell // size, judgment * size + cell % size])
    )
    judged = np.bincount(involved % size, minlength=size)
    wins, played = matrix.sum(axis=1), matrix.sum(axis=1) + matrix.sum(axis=0)
    rows: list[dict[str, Any]] = [
        {
            "generator": name,
            "strength": round(float(strengths[i]), 4),
            "low": round(float(low[i]), 4) if low is not None else None,
            "high": round(float(high[i]), 4) if high is not None else None,
            "comparisons": int(judged[i]),
            "pairs": int(played[i]),
            "win_rate": round(float(wins[i] / played[i]), 4) if played[i] else None,
        }
        for i, name in enumerate(names)
    ]
    rows.sort(key=lambda row: (-row["strength"], row["generator"]))
    return {**empty, "generators": rows}


def ilsr_batch(
    matrices: np.ndarray, initial: np.ndarray, max_iter: int = 100, tol: float = 1e-8
) -> np.ndarray:
    """choix.ilsr_pairwise_dense with `alpha=ALPHA` on a stack of win matrices at once.

    The same iteration (the Luce spectral ranking chain, its stationary distribution,
    centred log weights), vectorised over the stack and warm-started from `initial`, so a
    bootstrap of hundreds of refits costs a few numpy calls; it reaches choix's fixed
    point (tests/annotation/leaderboard/test_coverage.py compares the two).
    """
    samples, size, _ = matrices.shape
    params = np.broadcast_to(initial - initial.mean(), (samples, size)).copy()
    transposed = np.transpose(matrices, (0, 2, 1))
    # The stationary distribution pi solves pi Q = 0 with sum(pi) = size: the last
    # equation of Q^T pi = 0 is replaced by the normalisation.
    rhs = np.zeros((samples, size))
    rhs[:, -1] = size
    for _ in range(max_iter):
        weights = np.exp(params - params.mean(axis=1, keepdims=True))
        weights *= size / weights.sum(axis=1, keepdims=True)
        chain = ALPHA + transposed / (weights[:, None, :] + weights[:, :, None])
        chain[:, np.arange(size), np.arange(size)] = 0.0
        chain -= np.einsum("sij->si", chain)[:, :, None] * np.eye(size)
        system = np.transpose(chain, (0, 2, 1)).copy()
        system[:, -1, :] = 1.0
        dist = np.linalg.solve(system, rhs[:, :, None])[:, :, 0]
        logs = np.log(dist)
        updated = logs - logs.mean(axis=1, keepdims=True)
        done = np.abs(updated - params).sum(axis=1).max() < tol
        params = updated
        if done:
            return params
    raise RuntimeError(f"the bootstrap refits did not converge in {max_iter} iterations")


def mean_score_intervals(
    scores: Sequence[tuple[str, Hashable, float]], samples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Generator -> mean score of its images with a bootstrap 95% interval.

    `scores` holds (generator, prompt, score) per image. The bootstrap draws prompts with
    replacement (one draw for every generator, so the intervals of two generators are
    from the same resamples); low and high are None with fewer than two prompts.
    """
    if not scores:
        return {}
    names = sorted({generator for generator, _prompt, _score in scores})
    index = {name: i for i, name in enumerate(names)}
    prompt_index: dict[Hashable, int] = {}
    generator = np.array([index[g] for g, _p, _s in scores], dtype=np.int64)
    prompt = np.array(
        [prompt_index.setdefault(p, len(prompt_index)) for _g, p, _s in scores], dtype=np.int64
    )
    value = np.array([s for _g, _p, s in scores], dtype=np.float64)
    prompts = len(prompt_index)
    cell = generator * prompts + prompt
    sums = np.bincount(cell, weights=value, minlength=len(names) * prompts).reshape(-1, prompts)
    counts = np.bincount(cell, minlength=len(names) * prompts).reshape(-1, prompts)
    means = sums.sum(axis=1) / counts.sum(axis=1)
    low = high = None
    if prompts >= 2:
        draws = np.empty((samples, len(names)))
        with np.errstate(invalid="ignore", divide="ignore"):
            for k, drawn in enumerate(resampled_counts(prompts, samples, seed)):
                draws[k] = (sums @ drawn) / (counts @ drawn)  # NaN: no image drawn
        low, high = np.nanpercentile(draws, PERCENTILES, axis=0)
    return {
        name: {
            "mean": round(float(means[i]), 4),
            "low": round(float(low[i]), 4) if low is not None else None,
            "high": round(float(high[i]), 4) if high is not None else None,
            "images": int(counts[i].sum()),
            "prompts": int((counts[i] > 0).sum()),
        }
        for i, name in enumerate(names)
    }
