"""Intervals beside the agreement figures and the per-annotator figures, and flags that
are raised on the interval, not on the point estimate."""

from __future__ import annotations

import random

import numpy as np
import pytest
from scipy.stats import binomtest

from annotation.models import QualitySettings, User
from annotation.quality.agreement import compute_agreement
from annotation.quality.agreement_data import read_judgments
from annotation.quality.agreement_stats import agreement_intervals, core_statistics, rank_groups
from annotation.quality.annotator_stats import quality_flags
from core.intervals import resampled_counts, wilson_interval
from tests.annotation.quality.test_agreement import reference_statistics, store
from tests.factories.tasks import make_project
from tests.factories.users import annotators


def test_wilson_interval_matches_scipy_on_shares() -> None:
    # 5 of 5 by hand: centre (1 + z^2/10) / (1 + z^2/5), half-width z^2/10 / (1 + z^2/5).
    low, high = wilson_interval(1.0, 5)  # type: ignore[misc]
    assert low == pytest.approx(0.565518, abs=1e-6) and high == 1.0
    for k, n in [(3, 5), (0, 1), (300, 500), (17, 20)]:
        expected = binomtest(k, n).proportion_ci(method="wilson")
        assert wilson_interval(k / n, n) == pytest.approx((expected.low, expected.high), abs=1e-6)
    assert wilson_interval(None, 5) is None and wilson_interval(0.5, 0) is None


def entry(judgments: int, agreement: float, **extra: object) -> dict[str, object]:
    return {
        "judgments": judgments,
        "agreement": agreement,
        "agreement_interval": wilson_interval(agreement, judgments),
        "median_seconds": 5.0,
        **extra,
    }


def test_flags_need_the_whole_interval_past_the_threshold() -> None:
    thresholds = QualitySettings(min_agreement=0.6, min_judgments=5, min_gold_accuracy=0.8)
    # Two of five agreeing: the point estimate 0.4 is below 0.6, the interval is not.
    assert quality_flags(entry(5, 0.4), thresholds) == []
    # The same share over 100 judgments: confidently below.
    assert quality_flags(entry(100, 0.4), thresholds) == ["low_agreement"]
    # Below min_judgments nothing is flagged, whatever the figures.
    assert quality_flags(entry(4, 0.0), thresholds) == []
    # Position bias: the interval of the first-shown share must leave 0.5 +- 0.2 (default).
    biased = entry(40, 0.9, left_share_interval=wilson_interval(0.9, 40))
    assert quality_flags(biased, thresholds) == ["position_bias"]
    unsure = entry(40, 0.9, left_share_interval=wilson_interval(0.9, 5))
    assert quality_flags(unsure, thresholds) == []
    gold = entry(40, 0.9, gold_interval=wilson_interval(0.5, 4))
    assert quality_flags(gold, thresholds) == []
    gold = entry(40, 0.9, gold_interval=wilson_interval(0.5, 40))
    assert quality_flags(gold, thresholds) == ["low_gold_accuracy"]


def plan_with_disagreement(
    users: list[User], tasks: int, seed: int
) -> dict[int, dict[User, list[int]]]:
    """Three of four annotators share a noisy truth; agreement varies from task to task."""
    rng = random.Random(seed)
    plan: dict[int, dict[User, list[int]]] = {}
    for t in range(tasks):
        truth = rng.sample(range(4), 4)
        plan[t] = {}
        for user in users:
            ranking = list(truth)
            if rng.random() < 0.5:
                i = rng.randrange(3)
                ranking[i], ranking[i + 1] = ranking[i + 1], ranking[i]
            plan[t][user] = ranking
    return plan


@pytest.mark.django_db
def test_report_intervals_resample_tasks_and_recompute_each_figure() -> None:
    project = make_project("quality", images_per_task=4)
    users = annotators(4)
    stored = store(project, plan_with_disagreement(users, 12, seed=5))
    report = compute_agreement(project)
    intervals = report["intervals"]
    assert intervals["resampled"] == "tasks" and intervals["tasks"] == 12
    names = ("pairwise_agreement", "krippendorff_alpha", "kendall_w_mean", "human_ceiling")
    for name in names:
        low, high = intervals[name]
        assert low < report[name] < high, name

    # An independent reference: the same task draws, each figure recomputed by plain
    # loops over the drawn tasks (a task drawn twice enters twice).
    judgments = read_judgments(project, None, None, None)
    core = core_statistics(judgments, rank_groups(judgments), np.ones(len(judgments), bool))
    ours = agreement_intervals(core, samples=25, seed=3)
    tasks = sorted(stored)
    draws: dict[str, list[float]] = {name: [] for name in names}
    for drawn in resampled_counts(len(tasks), 25, 3):
        resampled = {
            (task, copy): stored[task]
            for task, times in zip(tasks, drawn, strict=True)
            for copy in range(times)
        }
        figures = reference_statistics(resampled)  # type: ignore[arg-type]
        for name in names:
            draws[name].append(figures[name])
    for name in names:
        assert ours[name] == pytest.approx(np.percentile(draws[name], [2.5, 97.5]), abs=1e-5)


@pytest.mark.django_db
def test_report_shows_annotator_sample_sizes_and_intervals() -> None:
    project = make_project("quality", images_per_task=4)
    users = annotators(3)
    plan = {t: {user: [0, 1, 2, 3] for user in users} for t in range(5)}
    store(project, plan)
    report = compute_agreement(project)
    assert report["intervals"]["pairwise_agreement"] == [1.0, 1.0]
    for row in report["annotators"]:
        assert row["agreement"] == 1.0 and row["agreement_judgments"] == 5
        assert row["agreement_interval"] == pytest.approx([0.565518, 1.0], abs=1e-6)
        assert row["gold_judgments"] == 0 and row["gold_interval"] is None
    single = make_project("single", images_per_task=2)
    store(single, {0: {users[0]: [0, 1]}})
    alone = compute_agreement(single)["intervals"]
    assert alone["tasks"] == 0 and alone["pairwise_agreement"] is None
