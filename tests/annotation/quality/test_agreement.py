"""Agreement statistics against independent, loop-by-loop computations on known data."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import combinations
from typing import Any

import krippendorff
import numpy as np
import pytest

from annotation.models import Project, ProjectAnnotator, Task, TaskImage, User
from annotation.quality.agreement import compute_agreement, inversion_score
from annotation.quality.agreement_stats import ordinal_alpha, ranked_groups_ceiling
from annotation.quality.annotator_quality import refresh_quality_flags, set_excluded
from tests.factories.batches import image_ids
from tests.factories.judging import judge, write_calibration_judgment
from tests.factories.tasks import make_project, make_tasks
from tests.factories.users import annotators

# --- independent reference computations (plain loops over rankings, no numpy tricks)


def reference_statistics(rankings: dict[int, dict[int, list[int]]]) -> dict[str, float]:
    """rankings[task][annotator] = images best to worst."""
    agree = total = 0
    ceilings, kendalls = [], []
    units: dict[tuple[int, int], dict[int, int]] = {}
    for task, by_annotator in rankings.items():
        if len(by_annotator) < 2:
            continue
        images = sorted(next(iter(by_annotator.values())))
        rank = {a: {img: r.index(img) + 1 for img in r} for a, r in by_annotator.items()}
        for x, y in combinations(images, 2):
            prefers_x = [rank[a][x] < rank[a][y] for a in rank]
            for p, q in combinations(prefers_x, 2):
                total += 1
                agree += p == q
        scores = []
        for a in rank:
            others = [b for b in rank if b != a]
            mean_rank = {img: sum(rank[b][img] for b in others) / len(others) for img in images}
            pairs = list(combinations(by_annotator[a], 2))
            discordant = sum(1 for better, worse in pairs if mean_rank[better] > mean_rank[worse])
            scores.append(1 - discordant / len(pairs))
        ceilings.append(sum(scores) / len(scores))
        m, n = len(rank), len(images)
        sums = [sum(rank[a][img] for a in rank) for img in images]
        mean_sum = m * (n + 1) / 2
        kendalls.append(12 * sum((s - mean_sum) ** 2 for s in sums) / (m**2 * (n**3 - n)))
        for img in images:
            units[(task, img)] = {a: rank[a][img] for a in rank}
    coders = sorted({a for by_annotator in rankings.values() for a in by_annotator})
    matrix = [[units[u].get(c, np.nan) for u in sorted(units)] for c in coders]
    return {
        "pairwise_agreement": agree / total,
        "human_ceiling": sum(ceilings) / len(ceilings),
        "kendall_w_mean": sum(kendalls) / len(kendalls),
        "krippendorff_alpha": krippendorff.alpha(
            reliability_data=matrix, level_of_measurement="ordinal"
        ),
    }


def store(project: Project, rankings_by_position: dict[int, dict[User, list[int]]]) -> dict:
    """Create tasks and judgments; rankings given as positions 0..n-1 into each task's images.

    Each task wants one judgment per annotator of its plan, so it is full once judged and
    the next one is served next."""
    stored: dict[int, dict[int, list[int]]] = {}
    for _task_number, by_user in rankings_by_position.items():
        n = len(next(iter(by_user.values())))
        [task] = make_tasks(project, 1, images=n, wanted=len(by_user))
        ids = image_ids(task)
        stored[task.pk] = {}
        for user, positions in by_user.items():
            ranking = [ids[p] for p in positions]
            judge(task, user, ranking)
            stored[task.pk][user.pk] = ranking
    return stored


@contextmanager
def guideline(project: Project, version: str) -> Iterator[None]:
    """Judgments submitted inside are made under the project's guideline `version`."""
    before = project.guideline_version
    Project.objects.filter(pk=project.pk).update(guideline_version=version)
    try:
        yield
    finally:
        Project.objects.filter(pk=project.pk).update(guideline_version=before)


def assert_matches(report: dict[str, Any], expected: dict[str, float]) -> None:
    for key, value in expected.items():
        assert report[key] == pytest.approx(value, abs=1e-6), key


# --- known answers


@pytest.mark.django_db
def test_perfect_agreement_gives_one_everywhere() -> None:
    project = make_project("quality", images_per_task=4)
    users = annotators(3)
    rng = random.Random(1)
    plan = {}
    for t in range(6):
        order = rng.sample(range(4), 4)
        plan[t] = {user: order for user in users}
    stored = store(project, plan)
    report = compute_agreement(project)
    assert_matches(report, reference_statistics(stored))
    assert report["pairwise_agreement"] == 1.0
    assert report["krippendorff_alpha"] == pytest.approx(1.0)
    assert report["kendall_w_mean"] == pytest.approx(1.0)
    assert report["human_ceiling"] == 1.0
    assert [a["agreement"] for a in report["annotators"]] == [1.0, 1.0, 1.0]
    assert report["judgments"] == 18
    assert report["multi_annotator_tasks"] == 6


@pytest.mark.django_db
def test_one_adversarial_annotator_is_singled_out() -> None:
    project = make_project("quality", images_per_task=4)
    users = annotators(4)
    rng = random.Random(2)
    plan = {}
    for t in range(8):
        order = rng.sample(range(4), 4)
        plan[t] = {user: order for user in users[:3]}
        plan[t][users[3]] = list(reversed(order))
    stored = store(project, plan)
    report = compute_agreement(project)
    assert_matches(report, reference_statistics(stored))
    by_name = {a["annotator"]: a for a in report["annotators"]}
    # Against the other three (two agree with the truth, one reversed), honest annotators
    # still agree fully; the adversary disagrees on every pair.
    assert by_name["ann-3"]["agreement"] == 0.0
    assert all(by_name[f"ann-{i}"]["agreement"] == 1.0 for i in range(3))
    # 4 annotators: 3 agreeing pairs + 3 disagreeing pairs out of 6 per image pair.
    assert report["pairwise_agreement"] == pytest.approx(0.5)


@pytest.mark.django_db
def test_random_answers_match_the_reference_and_sit_near_chance() -> None:
    project = make_project("quality", images_per_task=4)
    users = annotators(5)
    rng = random.Random(3)
    plan = {t: {user: rng.sample(range(4), 4) for user in users} for t in range(40)}
    stored = store(project, plan)
    report = compute_agreement(project)
    assert_matches(report, reference_statistics(stored))
    assert 0.4 < report["pairwise_agreement"] < 0.6
    assert abs(report["krippendorff_alpha"]) < 0.15


@pytest.mark.django_db
def test_mixed_task_sizes_and_single_annotator_tasks() -> None:
    project = make_project("quality", images_per_task=9)
    users = annotators(4)
    rng = random.Random(4)
    plan: dict[int, dict[User, list[int]]] = {}
    for t in range(5):
        plan[t] = {user: rng.sample(range(9), 9) for user in users}
    for t in range(5, 12):
        plan[t] = {users[t % 4]: rng.sample(range(3), 3)}  # one annotator: no agreement
    for t in range(12, 16):
        truth = rng.sample(range(2), 2)
        plan[t] = {user: truth if i else truth[::-1] for i, user in enumerate(users)}
    stored = store(project, plan)
    report = compute_agreement(project)
    assert_matches(report, reference_statistics(stored))
    assert report["tasks"] == 16
    assert report["multi_annotator_tasks"] == 9


def test_inversion_score_ignores_ties_in_the_reference() -> None:
    assert inversion_score([1, 2, 3], {1: 1.0, 2: 2.0, 3: 3.0}) == 1.0
    assert inversion_score([3, 2, 1], {1: 1.0, 2: 2.0, 3: 3.0}) == 0.0
    assert inversion_score([1, 2, 3], {1: 1.0, 2: 1.0, 3: 1.0}) == 1.0
    assert inversion_score([2, 1, 3], {1: 1.0, 2: 2.0, 3: 3.0}) == pytest.approx(2 / 3)


# --- the published example


def test_krippendorff_package_reproduces_the_published_example() -> None:
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", 4 observers x 12 units.

    Published: alpha nominal = 0.743, interval = 0.849 (the values the krippendorff
    package's own tests cite for this matrix).
    """
    nan = np.nan
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
        [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
    ]
    assert krippendorff.alpha(reliability_data=data, level_of_measurement="nominal") == (
        pytest.approx(0.743, abs=5e-4)
    )
    assert krippendorff.alpha(reliability_data=data, level_of_measurement="interval") == (
        pytest.approx(0.849, abs=5e-4)
    )
    # Our value-counts path (units x values, unused values dropped) gives the package's
    # ordinal alpha for the same matrix.
    values = np.array(data)
    counts = np.array([[np.sum(values[:, unit] == v) for v in range(1, 6)] for unit in range(12)])
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
    assert ordinal_alpha([counts.astype(float)]) == pytest.approx(expected, abs=1e-6)


# --- what is left out


@pytest.mark.django_db
def test_calibration_excluded_annotators_and_repeats_are_left_out() -> None:
    project = make_project("quality", images_per_task=4)
    users = annotators(4)
    tasks = make_tasks(project, 3, images=4, wanted=3)
    batch = tasks[0].batch
    reference: dict[int, dict[int, list[int]]] = {}
    for task in tasks:
        ids = image_ids(task)
        reference[task.pk] = {}
        for user in users[:2]:
            judge(task, user, ids)
            reference[task.pk][user.pk] = ids
        write_calibration_judgment(task, users[2], ids[::-1])
        judge(task, users[3], ids[::-1])
    admin = annotators(1, prefix="boss")[0]
    set_excluded(project, users[3], excluded=True, by=admin, reason="clicks at random")
    original = Task.objects.filter(project=project).first()
    assert original is not None
    repeat = Task.objects.create(
        project=project,
        batch=batch,
        prompt=original.prompt,
        judgments_wanted=1,
        repeat_of=original,
        repeat_for=users[0],
    )
    for link in original.task_images.all():
        TaskImage.objects.create(task=repeat, image=link.image, position=link.position)
    judge(repeat, users[0], image_ids(original)[::-1])

    report = compute_agreement(project)
    assert_matches(report, reference_statistics(reference))
    assert report["judgments"] == 6
    assert report["pairwise_agreement"] == 1.0
    assert report["excluded_annotators"] == ["ann-3"]
    names = [a["annotator"] for a in report["annotators"]]
    assert "ann-3" not in names
    first = next(a for a in report["annotators"] if a["annotator"] == "ann-0")
    assert first["self_consistency"] == 0.0
    assert first["repeat_judgments"] == 1

    set_excluded(project, users[3], excluded=False, by=admin)
    again = compute_agreement(project)
    assert again["judgments"] == 9
    assert again["pairwise_agreement"] < 1.0
    assert ProjectAnnotator.objects.get(project=project, annotator=users[3]).excluded_at is None


@pytest.mark.django_db
def test_breakdowns_filters_and_the_cache() -> None:
    project = make_project("quality", images_per_task=4)
    users = annotators(2)
    train_tasks = make_tasks(project, 2, images=2, wanted=2, split="train")
    test_tasks = make_tasks(project, 2, images=2, wanted=2, split="test")
    train = train_tasks[0].batch
    for tasks, agree in ((train_tasks, True), (test_tasks, False)):
        for task in tasks:
            ids = image_ids(task)
            judge(task, users[0], ids)
            # The second annotator works under a newer guideline version.
            with guideline(project, "v2"):
                judge(task, users[1], ids if agree else ids[::-1])
    report = compute_agreement(project)
    assert report["by_split"]["train"]["pairwise_agreement"] == 1.0
    assert report["by_split"]["test"]["pairwise_agreement"] == 0.0
    assert report["by_batch"][str(train.pk)]["judgments"] == 4
    assert set(report["by_guideline_version"]) == {"hpd-v2-1", "v2"}
    assert compute_agreement(project, split="test")["pairwise_agreement"] == 0.0
    assert compute_agreement(project, batch=train.pk)["pairwise_agreement"] == 1.0
    only_v2 = compute_agreement(project, guideline_version="v2")
    assert only_v2["judgments"] == 4 and only_v2["pairwise_agreement"] is None
    assert report["over_time"][0]["judgments"] == 8

    cached = compute_agreement(project)
    assert cached["computed_at"] == report["computed_at"]
    [task] = make_tasks(project, 1, images=2)
    judge(task, users[0], image_ids(task))
    assert compute_agreement(project)["judgments"] == 9


@pytest.mark.django_db
def test_per_annotator_position_bias_speed_gold_and_flags() -> None:
    project = make_project("quality", images_per_task=2)
    users = annotators(3)
    for i, task in enumerate(make_tasks(project, 20, wanted=3)):
        left, right = image_ids(task)
        shown = [left, right] if i % 2 else [right, left]
        judge(task, users[0], [left, right], shown=shown, duration_ms=4000)
        judge(task, users[1], [left, right], shown=[right, left], duration_ms=5000)
        # users[2] always picks whatever was shown first, fast.
        judge(task, users[2], [right, left], shown=[right, left], duration_ms=400)
    [gold] = make_tasks(project, 1, wanted=2, gold=True)
    original, degraded = image_ids(gold)
    assert gold.gold_ranking == [original, degraded]
    # The gold task is served once the others are full, at a gold rate of one.
    Project.objects.filter(pk=project.pk).update(gold_rate=1.0)
    judge(gold, users[0], [original, degraded], shown=[original, degraded])
    judge(gold, users[2], [degraded, original], shown=[original, degraded])

    report = refresh_quality_flags(project)
    assert report is not None
    by_name = {a["annotator"]: a for a in report["annotators"]}
    assert by_name["ann-0"]["left_share"] == pytest.approx(11 / 21)
    assert by_name["ann-1"]["left_share"] == 0.0
    assert by_name["ann-2"]["left_share"] == pytest.approx(20 / 21)
    assert by_name["ann-0"]["quality_flags"] == []
    assert by_name["ann-2"]["median_seconds"] == 0.4
    assert by_name["ann-0"]["gold_accuracy"] == 1.0
    assert by_name["ann-2"]["gold_accuracy"] == 0.0
    assert report["left_share"] == pytest.approx(31 / 62)
    assert set(by_name["ann-2"]["quality_flags"]) == {
        "low_agreement", "low_gold_accuracy", "position_bias", "too_fast",
    }  # fmt: skip
    assert by_name["ann-1"]["quality_flags"] == ["position_bias"]
    standing = ProjectAnnotator.objects.get(project=project, annotator=users[2])
    assert "too_fast" in standing.quality_flags


@pytest.mark.django_db
def test_the_ceiling_of_released_rank_lists_is_the_reports_ceiling() -> None:
    # The frozen evaluation set computes the ceiling from test.json's raw annotations.
    project = make_project("quality", images_per_task=4)
    users = annotators(3)
    rng = random.Random(5)
    plan = {t: {user: rng.sample(range(4), 4) for user in users} for t in range(8)}
    stored = store(project, plan)
    groups = []
    for task_id, by_user in stored.items():
        images = image_ids(Task.objects.get(pk=task_id))
        groups.append([[ranking.index(i) + 1 for i in images] for ranking in by_user.values()])
    groups.append([[1, 2, 3, 4]])  # one annotator: no ceiling, left out

    ceiling = ranked_groups_ceiling(groups)

    assert ceiling == pytest.approx(compute_agreement(project)["human_ceiling"], abs=1e-6)
    assert ceiling is not None and ceiling < 1
    assert ranked_groups_ceiling([[[1, 2, 3], [1, 2, 3], [2, 1, 3]]]) == pytest.approx(8 / 9)
    assert ranked_groups_ceiling([[[1, 2]]]) is None
