"""Ties and reasons in the exports and on the leaderboard: a tie has no train.json entry
(HPD v2's human_preference cannot say "about the same"), the richer files keep it with
the reasons and the note, and the leaderboard counts it as half a win for each side."""

from __future__ import annotations

import json
import math
from pathlib import Path

import krippendorff
import pyarrow.parquet as pq
import pytest

from annotation.export import create_export, export_snapshot
from annotation.leaderboard.standings import generator_leaderboard, judged_pairs
from annotation.models import ExportSnapshot, Image, Project, Role, Task
from annotation.projects.accounts import add_user
from annotation.quality import compute_agreement
from tests.browser_support import store_image_files
from tests.factories.batches import image_ids
from tests.factories.judging import judge
from tests.factories.tasks import make_project, make_tasks

pytestmark = pytest.mark.django_db


def by_generator(task: Task) -> list[int]:
    """The task's images, gen-0's first."""
    return sorted(image_ids(task), key=lambda pk: Image.objects.get(pk=pk).generator)


def tied_project() -> tuple[Project, list[Task]]:
    """Two pairwise tasks of gen-0 and gen-1: gen-0 wins the first, the second is a tie."""
    project = make_project(judgments_per_task=1)
    Project.objects.filter(pk=project.pk).update(
        allow_ties=True, reason_chips=["artifacts", "aesthetics"]
    )
    tasks = make_tasks(project, 2)
    user = add_user("tier", Role.ANNOTATOR, password="correct-horse-battery-9").user
    judge(tasks[0], user, by_generator(tasks[0]), reasons=["aesthetics"])
    judge(tasks[1], user, by_generator(tasks[1]), levels=[0, 0], note="both fine")
    return project, tasks


def test_ties_are_left_out_of_train_json_and_kept_in_the_richer_files(
    tmp_path: Path, media_root: Path
) -> None:
    project, tasks = tied_project()
    store_image_files(media_root)
    snapshot = create_export(project, {}, out=tmp_path / "out", enqueue=False)
    done = export_snapshot(snapshot.pk)
    assert done is not None and done.status == ExportSnapshot.Status.DONE, done and done.error

    train = json.loads((tmp_path / "out" / "train.json").read_text())
    assert len(train) == 1 and train[0]["human_preference"] == [1, 0]
    assert done.counts["splits"]["train"]["judgments"] == 2

    lines = [
        json.loads(line)
        for line in (tmp_path / "out" / "annotations.jsonl").read_text().splitlines()
    ]
    by_task = {line["task"]: line for line in lines}
    assert by_task[tasks[0].pk]["levels"] == []
    assert by_task[tasks[0].pk]["reasons"] == ["aesthetics"]
    assert by_task[tasks[1].pk]["levels"] == [0, 0]
    assert by_task[tasks[1].pk]["note"] == "both fine"

    pairs = pq.read_table(tmp_path / "out" / "pairs.parquet").to_pylist()
    assert sorted((row["task"], row["is_tie"]) for row in pairs) == [
        (tasks[0].pk, 0),
        (tasks[1].pk, 1),
    ]


def test_the_leaderboard_counts_a_tie_as_half_a_win_each() -> None:
    project, _tasks = tied_project()
    # Hand-worked: gen-0 won one pair outright and half of the tie: 1.5 wins of 2 pairs,
    # gen-1 0.5 of 2. Bradley-Terry on wins 1.5 : 0.5 puts gen-0 ahead by log(3).
    pairs = sorted(
        (pair for entries in judged_pairs(project).values() for _, pair in entries), key=len
    )
    assert pairs == [{("gen-0", "gen-1"): 1}, {("gen-0", "gen-1"): 0.5, ("gen-1", "gen-0"): 0.5}]
    board = generator_leaderboard(project, samples=20)["overall"]
    rows = {row["generator"]: row for row in board["generators"]}
    assert board["pairs"] == 2 and board["comparisons"] == 2
    assert rows["gen-0"]["win_rate"] == 0.75 and rows["gen-1"]["win_rate"] == 0.25
    assert rows["gen-0"]["pairs"] == rows["gen-1"]["pairs"] == 2
    gap = rows["gen-0"]["strength"] - rows["gen-1"]["strength"]
    assert gap == pytest.approx(math.log(3), abs=0.05)


def test_agreement_counts_a_tie_as_an_answer_of_its_own() -> None:
    # One pair judged by three annotators: a better, about the same, b better. No two
    # give the same answer, so pairwise agreement is 0 (a tie read as "b better" would
    # make one agreeing pair of three); alpha gets the tie as equal ranks.
    project = make_project(judgments_per_task=3)
    Project.objects.filter(pk=project.pk).update(allow_ties=True)
    [task] = make_tasks(project, 1)
    a, b = by_generator(task)
    for name, ranking, levels in (
        ("first", [a, b], []),
        ("second", [a, b], [0, 0]),
        ("third", [b, a], []),
    ):
        user = add_user(name, Role.ANNOTATOR, password="correct-horse-battery-9").user
        judge(task, user, ranking, levels=levels)

    report = compute_agreement(project, use_cache=False, store=False)

    assert report["pairwise_agreement"] == 0.0
    expected = krippendorff.alpha(
        reliability_data=[[1, 2], [1, 1], [2, 1]], level_of_measurement="ordinal"
    )
    assert report["krippendorff_alpha"] == pytest.approx(expected, abs=1e-3)
