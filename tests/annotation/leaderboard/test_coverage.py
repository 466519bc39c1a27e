"""The leaderboard's intervals have the right width: over independent re-draws of a
synthetic world with known strengths, the 95% intervals cover the truth about 95% of the
time. Pure numpy (annotation/leaderboard/resampling.py); the database-level check that
the service fits through the same function is in test_leaderboard.py."""

from __future__ import annotations

import choix
import numpy as np

from annotation.leaderboard.resampling import ALPHA, JudgedPairs, fit_strengths, ilsr_batch

TRUE = np.array([0.6, 0.2, -0.2, -0.6])  # log strengths, mean 0 as the fit reports them
NAMES = [f"gen-{i}" for i in range(len(TRUE))]


def draw_world(seed: int, prompts: int = 30, per_prompt: int = 2) -> list[JudgedPairs]:
    """Each prompt has one image per generator, ranked by `per_prompt` annotators.

    An annotator's ranking sorts strength + Gumbel noise: a Plackett-Luce ranking, whose
    every implied pair follows Bradley-Terry with the true strengths, but whose six pairs
    are not independent of each other.
    """
    rng = np.random.default_rng(seed)
    judgments: list[JudgedPairs] = []
    for prompt in range(prompts):
        for _ in range(per_prompt):
            order = [NAMES[i] for i in np.argsort(-(TRUE + rng.gumbel(size=len(TRUE))))]
            pairs = {
                (better, worse): 1 for i, better in enumerate(order) for worse in order[i + 1 :]
            }
            judgments.append((prompt, pairs))
    return judgments


def covered(table: dict, truth: dict[str, float]) -> list[bool]:
    return [row["low"] <= truth[row["generator"]] <= row["high"] for row in table["generators"]]


def test_the_95_interval_covers_the_truth_over_100_independent_redraws() -> None:
    truth = dict(zip(NAMES, TRUE.tolist(), strict=True))
    hits: list[bool] = []
    for redraw in range(100):
        table = fit_strengths(draw_world(10_000 + redraw), samples=100, seed=redraw)
        assert table["comparisons"] == 60 and table["pairs"] == 360 and table["prompts"] == 30
        hits += covered(table, truth)
    coverage = sum(hits) / len(hits)
    assert 0.9 <= coverage <= 0.99, coverage


def test_resampling_pairs_one_by_one_would_make_the_intervals_too_narrow() -> None:
    world = draw_world(7, prompts=60)
    by_prompt = fit_strengths(world, samples=200, seed=1)
    # The same pairs, each pretending to be a judgment of its own prompt.
    by_pair = fit_strengths(
        [
            ((prompt, k, pair), {pair: 1})
            for k, (prompt, pairs) in enumerate(world)
            for pair in pairs
        ],
        samples=200,
        seed=1,
    )
    assert by_prompt["pairs"] == by_pair["pairs"] == 720
    assert by_prompt["comparisons"] == 120 and by_pair["comparisons"] == 720

    def width(table: dict) -> float:
        return float(np.mean([row["high"] - row["low"] for row in table["generators"]]))

    # Identical point estimates, wider honest intervals.
    assert [r["strength"] for r in by_prompt["generators"]] == [
        r["strength"] for r in by_pair["generators"]
    ]
    assert width(by_prompt) > 1.1 * width(by_pair)


def test_one_prompt_gives_no_interval() -> None:
    table = fit_strengths(draw_world(3, prompts=1, per_prompt=3), samples=20)
    assert table["prompts"] == 1 and table["comparisons"] == 3
    assert all(row["low"] is None and row["high"] is None for row in table["generators"])


def test_the_batched_refit_reaches_choix_optimum() -> None:
    rng = np.random.default_rng(0)
    matrices = rng.integers(0, 20, (12, 5, 5)).astype(float)
    for matrix in matrices:
        np.fill_diagonal(matrix, 0)
    matrices[0, 0, :] = 0  # a generator that never won
    matrices[1, :, 1] = 0  # one that never lost
    expected = np.stack([choix.ilsr_pairwise_dense(m, alpha=ALPHA) for m in matrices])
    assert np.abs(ilsr_batch(matrices, np.zeros(5)) - expected).max() < 1e-6
