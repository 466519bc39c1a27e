"""Our metrics give the official release's numbers on the same inputs."""

from __future__ import annotations

import random

import numpy as np
import pytest

from scoring.core.metrics import (
    benchmark_scores,
    benchmark_style_score,
    imagereward_accuracy,
    imagereward_group_accuracy,
    inversion_score,
    pairwise_accuracy,
    ranking_accuracy,
    ranks_from_scores,
)
from tests.official_hpsv2 import official


def random_groups(seed: int, count: int) -> list[tuple[list[float], list[int]]]:
    rng = random.Random(seed)
    groups = []
    for _ in range(count):
        n = rng.randint(2, 9)
        scores = [round(rng.random(), 2) for _ in range(n)]  # rounding makes score ties
        ranks = [rng.randint(1, 4) for _ in range(n)]  # small range makes rank ties
        if len(set(ranks)) == 1:
            ranks[0] += 1
        groups.append((scores, ranks))
    return groups


def test_inversion_score_equals_the_official_function() -> None:
    train = official("hpsv2.src.training.train")
    for scores, ranks in random_groups(1, 200):
        predicted = ranks_from_scores(scores)
        assert inversion_score(predicted, ranks) == train.inversion_score(predicted, ranks)


def test_ranking_accuracy_is_the_mean_over_prompts_with_known_values() -> None:
    perfect = ([0.9, 0.5, 0.1], [1, 2, 3])
    reversed_ = ([0.1, 0.5, 0.9], [1, 2, 3])
    one_swap = ([0.5, 0.9, 0.1], [1, 2, 3])  # 1 of 3 pairs discordant
    assert ranking_accuracy([perfect]) == 1.0
    assert ranking_accuracy([reversed_]) == 0.0
    assert ranking_accuracy([perfect, one_swap]) == pytest.approx((1 + 2 / 3) / 2)
    # Equal human ranks never count as discordant.
    assert ranking_accuracy([([0.1, 0.9], [2, 2])]) == 1.0


def test_imagereward_accuracy_equals_the_official_function_ties_included() -> None:
    train = official("hpsv2.src.training.train")
    groups = random_groups(2, 200)
    for scores, ranks in groups:
        assert imagereward_group_accuracy(scores, ranks) == pytest.approx(
            train.calc_ImageReward(scores, ranks)
        )
    expected = sum(train.calc_ImageReward(s, r) for s, r in groups) / len(groups)
    assert imagereward_accuracy(groups) == pytest.approx(expected)
    # A predicted tie is wrong.
    assert imagereward_group_accuracy([0.5, 0.5], [1, 2]) == 0.0


def test_imagereward_group_without_an_ordered_pair_is_an_error() -> None:
    with pytest.raises(ValueError, match="same human rank"):
        imagereward_group_accuracy([0.1, 0.2], [3, 3])


def test_pairwise_accuracy_takes_the_argmax_first_on_ties() -> None:
    pairs = [([0.3, 0.2], 0), ([0.1, 0.4], 1), ([0.1, 0.4], 0), ([0.5, 0.5], 0), ([0.5, 0.5], 1)]
    assert pairwise_accuracy(pairs) == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="preferred index 2 is outside a group of 2"):
        pairwise_accuracy([([0.1, 0.2], 2)])


def test_benchmark_style_score_matches_the_evaluation_formula() -> None:
    rng = np.random.default_rng(0)
    res = (rng.random(800) * 30).tolist()
    avg_score = [np.mean(res[i : i + 80]) for i in range(0, len(res), 80)]

    style = benchmark_style_score(res)

    assert style.chunks == 10
    assert style.mean == pytest.approx(float(np.mean(avg_score)))
    assert style.std == pytest.approx(float(np.std(avg_score)))
    uneven = res[:170]  # chunks of 80, 80, 10: the mean of means, not of scores
    expected = np.mean([np.mean(uneven[i : i + 80]) for i in range(0, 170, 80)])
    assert benchmark_style_score(uneven).mean == pytest.approx(float(expected))
    assert benchmark_style_score(uneven).mean != pytest.approx(float(np.mean(uneven)))


def test_benchmark_average_is_over_every_image() -> None:
    result = benchmark_scores({"anime": [1.0] * 80, "photo": [4.0] * 160})
    assert result["Average"] == pytest.approx(3.0)
    assert result["anime"] == benchmark_style_score([1.0] * 80)


def test_mismatched_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="3 score\\(s\\) but 2 human rank\\(s\\)"):
        inversion_score([0, 1, 2], [1, 2])
    with pytest.raises(ValueError, match="no groups"):
        ranking_accuracy([])
