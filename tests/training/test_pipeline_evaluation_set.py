"""A frozen evaluation set: every model version on a project's chart, old and new, is
measured on the same pinned test groups, with the human ceiling of those groups."""

from __future__ import annotations

import io
import json
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from annotation.export import create_export, export_snapshot
from annotation.models import ExportSnapshot, Split
from annotation.projects.accounts import add_user
from tests.factories.batches import import_ready_batch, tasks_of
from tests.factories.judging import judge
from tests.training.pipeline_support import (
    GreyProject,
    add_train_judgments,
    brightness_ranking,
    grey_project,
    tiny_policy,
    training_env,
    write_grey_batch,
)
from training.models import FrozenEvaluation, TrainingPolicy, TrainingRun
from training.services.curves import accuracy_history
from training.services.cycle import run_cycle, start_cycle
from training.services.evaluation_set import (
    EvaluationSetError,
    accuracy_on,
    ceiling_of,
    evaluate_frozen_set,
    freeze_evaluation_set,
)
from training.services.weights import version_weights

__all__ = ["training_env"]


def cycle(project: Any) -> TrainingRun:
    started = start_cycle(project, trigger=TrainingRun.Trigger.COMMAND, enqueue=False)
    assert started.created and started.run is not None, started.reason
    run = run_cycle(started.run.pk)
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    return run


def add_test_groups(tmp: Path, grey: GreyProject, groups: int, seed: int) -> None:
    """Import `groups` more test groups, each judged by every annotator: the test split
    grows, as it does between cycles of a real project."""
    folder = write_grey_batch(
        tmp / f"test-{seed}", groups, 3, seed, f"another grey tile {seed}-{{n}}"
    )
    batch = import_ready_batch(
        folder, grey.project.slug, split=Split.TEST, judgments_per_task=len(grey.annotators)
    )
    for task in tasks_of(batch):
        for user in grey.annotators:
            judge(task, user, brightness_ranking(task))


def test_every_version_on_the_chart_is_measured_on_the_same_frozen_set(
    tmp_path: Path, training_env: dict[str, str], db: None
) -> None:
    grey = grey_project(tmp_path, test_groups=3)
    tiny_policy(grey.project, promote_margin=0.0)
    first = cycle(grey.project)
    assert first.evaluation_snapshot is None  # before freezing: its own snapshot's split

    frozen = freeze_evaluation_set(grey.project)
    assert frozen.groups == 3 and frozen.snapshot.counts["splits"]["test"]["tasks"] == 3
    assert frozen.ceiling == ceiling_of(frozen.test_json) and frozen.ceiling is not None
    # The old version (and the base weights) are measured on the set once.
    assert evaluate_frozen_set(grey.project) == 2
    assert evaluate_frozen_set(grey.project) == 0

    add_test_groups(tmp_path, grey, groups=2, seed=11)
    add_train_judgments(tmp_path, grey, groups=2, seed=12)
    second = cycle(grey.project)

    assert second.snapshot is not None
    assert second.snapshot.counts["splits"]["test"]["tasks"] == 5  # the split grew
    assert second.evaluation_snapshot == frozen.snapshot
    assert second.human_ceiling == frozen.ceiling
    assert second.candidate is not None and first.candidate is not None
    remeasured = accuracy_on(version_weights(second.candidate, tmp_path / "cfg"), frozen.test_json)
    assert second.candidate_accuracy == remeasured
    rows = FrozenEvaluation.objects.filter(project=grey.project)
    assert {row.snapshot_id for row in rows} == {frozen.snapshot.pk}
    by_version = {row.version_id: row.accuracy for row in rows}
    assert set(by_version) == {None, first.candidate.pk, second.candidate.pk}

    history = accuracy_history(grey.project)

    assert history.frozen and history.pending == 0
    assert (
        history.measured_on
        == f"frozen evaluation set: snapshot {frozen.snapshot.pk}, 3 test group(s)"
    )
    assert [label.split(" ")[0] for label in history.labels] == [
        "base",
        first.candidate.name,
        second.candidate.name,
    ]
    assert history.series == [
        (
            "accuracy on the frozen set",
            [by_version[None], by_version[first.candidate.pk], by_version[second.candidate.pk]],
        )
    ]
    assert history.ceiling == [frozen.ceiling] * 3

    admin = Client()
    admin.force_login(add_user("fay-admin", "admin", password="correct-horse-9x").user)
    html = admin.get(reverse("training-project", args=[grey.project.slug])).content.decode()
    assert f"on the frozen evaluation set: snapshot {frozen.snapshot.pk}, 3 test group(s)" in html
    assert f"{second.candidate.name} " in html and "human ceiling of the same groups" in html
    assert f"on frozen set {frozen.snapshot.pk}" in html
    assert f"on snapshot {first.snapshot_id}'s test split" in html


def test_a_snapshot_that_cannot_serve_is_refused_and_nothing_changes(
    tmp_path: Path, training_env: dict[str, str], db: None
) -> None:
    grey = grey_project(tmp_path, test_groups=2)
    other = grey_project(tmp_path, slug="other", train_groups=2, test_groups=2, seed=3)
    train_only = create_export(grey.project, {"split": "train"}, enqueue=False)
    export_snapshot(train_only.pk)
    elsewhere = create_export(other.project, {"split": "test"}, enqueue=False)
    export_snapshot(elsewhere.pk)
    before = list(TrainingPolicy.objects.values())

    untested = grey_project(tmp_path, slug="untested", train_groups=2, with_test=False, seed=4)
    exports = ExportSnapshot.objects.count()
    with pytest.raises(EvaluationSetError, match="has no judged test groups to freeze"):
        freeze_evaluation_set(untested.project)
    assert ExportSnapshot.objects.count() == exports
    for snapshot_id, message in [
        (train_only.pk, "holds no judged test groups"),
        (elsewhere.pk, "belongs to another project"),
        (999999, "there is no snapshot 999999"),
    ]:
        with pytest.raises(EvaluationSetError, match=message):
            freeze_evaluation_set(grey.project, snapshot_id)
    assert list(TrainingPolicy.objects.values()) == before

    admin = Client()
    admin.force_login(add_user("fay-admin", "admin", password="correct-horse-9x").user)
    url = reverse("training-evaluation-set", args=[grey.project.slug])
    page = admin.post(url, {"snapshot": str(train_only.pk)}, follow=True).content.decode()
    assert "No evaluation set frozen: choose one of the listed snapshots." in page
    assert not TrainingPolicy.objects.filter(evaluation_snapshot__isnull=False).exists()

    response = admin.post(url, {"snapshot": "new"})
    assert response.status_code == HTTPStatus.FOUND
    frozen = TrainingPolicy.objects.get(project=grey.project).evaluation_snapshot
    assert frozen is not None and frozen.status == ExportSnapshot.Status.DONE
    assert frozen.counts["splits"]["test"]["tasks"] == 2

    out = io.StringIO()
    call_command(
        "freeze_evaluation_set", "--project", "grey", "--snapshot", str(frozen.pk),
        "--evaluate-now", stdout=out,
    )  # fmt: skip
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["snapshot"] == frozen.pk and summary["test_groups"] == 2
    assert summary["versions_measured"] == 1  # the base weights: no version exists yet
