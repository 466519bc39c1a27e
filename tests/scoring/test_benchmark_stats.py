"""The benchmark's statistics: the release's chunk formula, intervals, paired comparison."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.core.benchmark_stats import (
    average_figure,
    paired_average_difference,
    paired_difference,
    style_figure,
)
from scoring.core.metrics import benchmark_style_score


def test_style_figure_is_numpys_mean_and_population_std_of_80_prompt_chunks() -> None:
    scores = np.random.default_rng(0).normal(27, 2, 250)  # chunks of 80, 80, 80, 10
    figure = style_figure(scores, resamples=200)
    chunks = [
        scores[:80].mean(),
        scores[80:160].mean(),
        scores[160:240].mean(),
        scores[240:].mean(),
    ]
    assert figure.mean == pytest.approx(np.mean(chunks), abs=1e-12)
    assert figure.std == pytest.approx(np.std(chunks), abs=1e-12)
    assert figure.images == 250
    # The older pure-python figure agrees.
    legacy = benchmark_style_score(list(scores))
    assert (legacy.mean, legacy.std) == pytest.approx((figure.mean, figure.std), abs=1e-9)


def test_the_interval_covers_the_true_mean_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(1)
    covered = 0
    for seed in range(60):
        scores = rng.normal(25.0, 3.0, 160)
        figure = style_figure(scores, resamples=400, seed=seed)
        covered += figure.ci_low <= 25.0 <= figure.ci_high
    assert 50 <= covered <= 60  # 95% nominal; 60 trials


def test_average_is_the_mean_of_every_image_with_a_stratified_interval() -> None:
    rng = np.random.default_rng(2)
    by_style = {"anime": rng.normal(20, 1, 100), "photo": rng.normal(30, 1, 300)}
    average = average_figure(by_style, resamples=500)
    assert average.mean == pytest.approx(np.mean(np.concatenate(list(by_style.values()))))
    assert average.images == 400
    # Resampled within styles: the style mix is fixed, so the interval is narrow.
    assert average.ci_high - average.ci_low < 0.3
    assert average.ci_low < average.mean < average.ci_high


def test_the_paired_comparison_detects_a_planted_difference_and_not_a_null_one() -> None:
    rng = np.random.default_rng(3)
    false_alarms = 0
    for seed in range(40):
        prompt_effect = rng.normal(25, 3, 200)  # shared by both generators: pairing removes it
        first = prompt_effect + rng.normal(0, 0.5, 200)
        planted = prompt_effect + rng.normal(0, 0.5, 200) - 0.4
        null = prompt_effect + rng.normal(0, 0.5, 200)
        found = paired_difference(first, planted, resamples=400, seed=seed)
        assert found.excludes_zero and found.ci_low > 0
        assert found.ci_low < found.difference < found.ci_high
        false_alarms += paired_difference(first, null, resamples=400, seed=seed).excludes_zero
    assert false_alarms <= 6  # 5% nominal: 2 of 40 expected


def test_paired_average_over_styles() -> None:
    rng = np.random.default_rng(4)
    first = {"anime": rng.normal(20, 1, 80), "photo": rng.normal(30, 1, 80)}
    second = {style: scores - 0.5 for style, scores in first.items()}
    difference = paired_average_difference(first, second, resamples=200)
    assert difference.difference == pytest.approx(0.5)
    assert difference.excludes_zero and difference.prompts == 160


def test_bad_input_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="no scores for anime"):
        style_figure([], what="anime")
    with pytest.raises(ValueError, match="not a finite number"):
        style_figure([1.0, float("nan")])
    with pytest.raises(ValueError, match="one score per prompt on both sides"):
        paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="resamples must be at least 1"):
        style_figure([1.0], resamples=0)
