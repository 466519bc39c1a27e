"""The simulated crowd's world and bookkeeping (benchmarks/collection_sim.py): the truth
it plants, the annotators' decisions, the consensus and the savings it reports."""

from __future__ import annotations

import math
import random

import pytest

from benchmarks.collection_sim import (
    ADVERSARIAL,
    CAREFUL,
    CAREFUL_NOISE,
    CARELESS,
    EASY_STRENGTH,
    HARD_STRENGTH,
    SHARPNESS,
    Annotator,
    ArmResult,
    bootstrap,
    build_feature_world,
    build_world,
    compare,
    consensus,
    fit_linear,
    orders_correctly,
    p_better,
)
from benchmarks.collection_sim_training import accuracy_figures, orders_as_truth, pair_truth


def test_consensus_is_the_majority_and_a_tie_is_none() -> None:
    assert consensus([True, True, False]) is True
    assert consensus([False, True, False, False, True]) is False
    assert consensus([True, False]) is None
    assert consensus([]) is None


def test_the_world_has_half_easy_tasks_and_the_annotators_asked_for() -> None:
    world = build_world(200, careful=17, careless=2, adversarial=1, seed=3)

    assert sum(world.easy) == 100
    for easy, strength in zip(world.easy, world.strengths, strict=True):
        low, high = EASY_STRENGTH if easy else HARD_STRENGTH
        assert low <= strength <= high
    kinds = [a.kind for a in world.annotators]
    assert (kinds.count(CAREFUL), kinds.count(CARELESS), kinds.count(ADVERSARIAL)) == (17, 2, 1)
    assert all(CAREFUL_NOISE[0] <= a.noise <= CAREFUL_NOISE[1] for a in world.annotators)
    assert build_world(200, seed=3) == world != build_world(200, seed=4)


def test_each_kind_of_annotator_decides_as_described() -> None:
    assert p_better(0.8, 0.0) == pytest.approx(0.8)
    assert p_better(0.8, 0.5) == pytest.approx(0.5)  # pure noise: a coin toss
    assert p_better(0.8, 0.1) == pytest.approx(0.5 + 0.3 * 0.8)
    rng = random.Random(0)
    careful = Annotator(CAREFUL, 0.1)
    draws = [careful.prefers_better(0.8, rng.random(), rng.random() < 0.5) for _ in range(20000)]
    assert sum(draws) / len(draws) == pytest.approx(0.74, abs=0.01)
    careless = Annotator(CARELESS, 0.0)
    assert careless.prefers_better(0.99, 0.0, False) is False  # the image shown first
    assert careless.prefers_better(0.6, 0.99, True) is True
    adversarial = Annotator(ADVERSARIAL, 0.0)
    assert not any(adversarial.prefers_better(0.99, d / 10, True) for d in range(10))


def test_bootstrap_interval_holds_the_estimate_and_is_a_point_for_a_constant() -> None:
    values = [1.0] * 30 + [0.0] * 70
    share = bootstrap(100, lambda s: sum(values[i] for i in s) / len(s), rounds=500)
    assert share[0] == pytest.approx(0.3)
    assert share[1] < 0.3 < share[2]
    assert share[1] > 0.18 and share[2] < 0.42  # about +-1.96 * sqrt(0.3 * 0.7 / 100)
    assert bootstrap(10, lambda s: 2.0, rounds=50) == (2.0, 2.0, 2.0)


def test_compare_counts_judgments_accuracy_and_savings() -> None:
    # Ten tasks: fixed k = 5 gets every consensus right with 5 votes; adaptive stops at
    # 2-0 on the first eight and spends 3 on the last two, one of which it gets wrong.
    fixed5 = ArmResult("fixed-k5", [[True, True, True, False, False]] * 10)
    fixed3 = ArmResult("fixed-k3", [[True, False, False]] * 5 + [[True, True, False]] * 5)
    adaptive = ArmResult(
        "adaptive", [[True, True]] * 8 + [[True, False, True], [False, True, False]]
    )

    report = compare(
        {"fixed-k3": fixed3, "fixed-k5": fixed5, "adaptive": adaptive},
        "adaptive",
        "fixed-k5",
        rounds=200,
    )

    arms = report["arms"]
    assert (arms["fixed-k5"]["judgments"], arms["adaptive"]["judgments"]) == (50, 22)
    assert arms["fixed-k5"]["consensus_accuracy"]["value"] == 1.0
    assert arms["fixed-k3"]["consensus_accuracy"]["value"] == 0.5
    assert arms["adaptive"]["consensus_accuracy"]["value"] == 0.9
    saved = report["saved_vs_max"]
    assert saved["saved"]["value"] == pytest.approx(1 - 22 / 50)
    assert saved["accuracy_difference"]["value"] == pytest.approx(-0.1)
    assert saved["saved"]["low"] <= saved["saved"]["value"] <= saved["saved"]["high"]
    # k = 3 is cheaper but 40 points less accurate: the match is k = 5.
    assert report["saved_at_equal_accuracy"]["against"] == "fixed-k5"
    assert report["target"]["met"] is False  # 10 points less accurate

    closer = ArmResult("adaptive", [[True, True]] * 9 + [[True, False, True]])
    met = compare({"fixed-k5": fixed5, "adaptive": closer}, "adaptive", "fixed-k5", rounds=50)
    assert met["saved_vs_max"]["saved"]["value"] == pytest.approx(1 - 21 / 50)
    assert met["target"]["met"] is True
    # No fixed k as accurate as adaptive: the saving against the largest, with a note.
    fewer = ArmResult("fixed-k5", [[True, False, False, True, False]] * 10)
    better = compare({"fixed-k5": fewer, "adaptive": closer}, "adaptive", "fixed-k5", rounds=50)
    assert better["saved_at_equal_accuracy"]["against"] == "fixed-k5"
    assert "no fixed k" in better["saved_at_equal_accuracy"]["note"]


def test_the_feature_world_plants_quality_and_the_small_scorer_learns_it() -> None:
    world = build_feature_world(50, seed=2, seed_pairs=30)

    assert len(world.pool) == 100 and len(world.seed_pairs) == 30
    # Held-out pairs: the first image truly better; the true weights order all of them.
    assert all(world.quality(a) > world.quality(b) for a, b in world.test)
    assert all(orders_correctly(world.weights, world.test))
    flipped = [-w for w in world.weights]
    assert not any(orders_correctly(flipped, world.test))
    # Task truth and strength follow the qualities of each task's two images.
    better = world.first_is_better()
    strengths = world.task_strengths()
    for i in range(50):
        a, b = world.pool[2 * i], world.pool[2 * i + 1]
        assert better[i] == (world.quality(a) > world.quality(b))
        assert 0.5 <= strengths[i] < 1
    # Trained on truthful pairs, the scorer orders nearly every held-out pair.
    truthful = [
        (a, b) if world.quality(a) > world.quality(b) else (b, a)
        for a, b in zip(world.pool[::2], world.pool[1::2], strict=True)
    ]
    learned = orders_correctly(fit_linear(truthful), world.test)
    assert sum(learned) / len(learned) > 0.9
    assert fit_linear([(a, b) for b, a in truthful]) != fit_linear(truthful)


def test_a_pairs_truth_follows_the_generators_quality() -> None:
    quality = {"crisp": 1.2, "plain": 0.3, "twin": 0.3}

    better, worse, strength = pair_truth({7: "plain", 9: "crisp"}, quality)

    assert (better, worse) == (9, 7)
    assert strength == pytest.approx(1 / (1 + math.exp(-SHARPNESS * 0.9)))
    assert pair_truth({1: "crisp", 2: "plain"}, quality)[:2] == (1, 2)
    assert pair_truth({1: "plain", 2: "twin"}, quality)[2] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="two images"):
        pair_truth({1: "crisp"}, quality)


def test_held_out_accuracy_counts_pairs_ordered_as_the_truth() -> None:
    scores = {1: 0.9, 2: 0.1, 3: 0.5, 4: 0.5}
    assert orders_as_truth(scores, [(1, 2), (2, 1), (3, 4)]) == [True, False, False]

    right = [True] * 8 + [False] * 2
    figures = accuracy_figures({"a": [True] * 5 + [False] * 5, "b": right}, "a", "b", 300)

    assert figures["a"]["value"] == pytest.approx(0.5)
    assert figures["b"]["value"] == pytest.approx(0.8)
    assert figures["difference"]["value"] == pytest.approx(0.3)
    assert figures["b"]["low"] < 0.8 < figures["b"]["high"]
    assert figures["difference"]["low"] <= 0.3 <= figures["difference"]["high"]
