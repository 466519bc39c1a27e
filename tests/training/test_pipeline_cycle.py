"""run_cycle end to end on the CPU: export, fine-tune a tiny model, evaluate candidate,
active and base models, register once, promote by the margin rule; resumable, idempotent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.forms.models import model_to_dict

from annotation.models import ExportSnapshot
from annotation.quality.agreement import compute_agreement
from scoring.models import ModelVersion
from tests.training.pipeline_support import (
    add_train_judgments,
    grey_project,
    tiny_policy,
    training_env,
)
from training import runner
from training.models import TrainingRun
from training.services.cycle import run_cycle, start_cycle

__all__ = ["training_env"]


def cycle(project: Any) -> TrainingRun:
    started = start_cycle(project, trigger=TrainingRun.Trigger.COMMAND, enqueue=False)
    assert started.created and started.run is not None, started.reason
    return run_cycle(started.run.pk)


@pytest.mark.django_db
def test_a_cycle_registers_the_candidate_and_promotes_it_when_it_equals_the_base(
    tmp_path: Path, training_env: dict[str, str]
) -> None:
    grey = grey_project(tmp_path)
    # A learning rate too small to move any score: the candidate ranks exactly as the base.
    tiny_policy(grey.project, lr=1e-12, promote_margin=0.0)

    run = cycle(grey.project)

    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert run.final_step == 6 and run.resumed_from_step is None
    assert run.starting_version is None  # no active version: the base weights
    assert run.config["start"]["checkpoint"] == training_env["TRAINING_BASE_CHECKPOINT"]
    assert run.candidate_accuracy is not None and run.base_accuracy is not None
    assert run.candidate_accuracy == run.base_accuracy
    assert run.active_version is None and run.active_accuracy is None
    assert run.human_ceiling == compute_agreement(grey.project, split="test")["human_ceiling"]
    assert run.human_ceiling == 1.0  # every annotator ranked brighter first
    assert run.promoted is True
    assert "the base weights" in run.promotion_reason and ">=" in run.promotion_reason
    version = ModelVersion.objects.get()
    assert run.candidate == version
    assert version.status == ModelVersion.Status.ACTIVE
    assert version.name == f"grey-run-{run.pk}"
    assert version.metrics["test_accuracy"] == run.candidate_accuracy
    assert version.metrics["training_run"] == run.pk
    assert Path(version.checkpoint_path) == Path(run.out_dir) / "checkpoints" / "latest.pt"
    snapshot = ExportSnapshot.objects.get()
    assert run.snapshot == snapshot and snapshot.status == ExportSnapshot.Status.DONE
    steps = [row["step"] for row in runner.read_metrics(Path(run.out_dir) / "metrics.jsonl")]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert run.lease_holder == "" and run.finished_at is not None


@pytest.mark.django_db
def test_the_next_cycle_starts_from_the_active_version_and_a_margin_of_one_keeps_it(
    tmp_path: Path, training_env: dict[str, str]
) -> None:
    grey = grey_project(tmp_path)
    tiny_policy(grey.project, lr=1e-12, promote_margin=0.0)
    first = cycle(grey.project)
    assert first.promoted
    assert start_cycle(grey.project, enqueue=False).run is None  # nothing new yet

    add_train_judgments(tmp_path, grey, groups=2, seed=7)
    tiny_policy(grey.project, promote_margin=1.0)
    second = cycle(grey.project)

    assert second.status == TrainingRun.Status.SUCCEEDED, second.error
    assert second.new_judgments == 2
    assert second.starting_version == first.candidate
    assert second.active_version == first.candidate
    assert second.active_accuracy is not None and second.candidate_accuracy is not None
    assert second.promoted is False
    assert second.promotion_reason.startswith("not promoted: test accuracy")
    assert f"the active version {first.candidate.name}" in second.promotion_reason  # type: ignore[union-attr]
    assert "+ margin 1.0000" in second.promotion_reason
    assert ModelVersion.objects.count() == 2
    assert ModelVersion.objects.get(status=ModelVersion.Status.ACTIVE) == first.candidate
    assert second.candidate.status == ModelVersion.Status.CANDIDATE  # type: ignore[union-attr]


@pytest.mark.django_db
def test_running_a_finished_run_again_changes_nothing(
    tmp_path: Path, training_env: dict[str, str]
) -> None:
    grey = grey_project(tmp_path)
    tiny_policy(grey.project)
    run = cycle(grey.project)
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    metrics = Path(run.out_dir) / "metrics.jsonl"
    before = (model_to_dict(run), metrics.read_bytes(), metrics.stat().st_mtime_ns)

    again = run_cycle(run.pk)

    assert (model_to_dict(again), metrics.read_bytes(), metrics.stat().st_mtime_ns) == before
    assert ModelVersion.objects.count() == 1 and ExportSnapshot.objects.count() == 1
    assert TrainingRun.objects.count() == 1


@pytest.mark.django_db
def test_a_project_without_test_judgments_fails_with_the_reason_and_registers_nothing(
    tmp_path: Path, training_env: dict[str, str]
) -> None:
    grey = grey_project(tmp_path, with_test=False)
    tiny_policy(grey.project)

    run = cycle(grey.project)

    assert run.status == TrainingRun.Status.FAILED
    assert "no judged test groups" in run.error and "--split test" in run.error
    assert ModelVersion.objects.count() == 0
    assert run.final_step is None and not Path(run.out_dir, "checkpoints").exists()
    assert run.lease_holder == ""


@pytest.mark.django_db
def test_without_base_weights_or_an_active_version_the_run_fails_saying_what_to_set(
    tmp_path: Path, training_env: dict[str, str], settings: Any
) -> None:
    settings.TRAINING_BASE_CHECKPOINT = ""
    grey = grey_project(tmp_path)
    tiny_policy(grey.project)

    run = cycle(grey.project)

    assert run.status == TrainingRun.Status.FAILED
    assert "TRAINING_BASE_CHECKPOINT" in run.error and "TRAINING_BASE_PRETRAINED" in run.error
    assert ModelVersion.objects.count() == 0


@pytest.mark.django_db
def test_with_two_training_processes_the_cycle_trains_under_torchrun(
    tmp_path: Path, training_env: dict[str, str], settings: Any
) -> None:
    settings.TRAINING_GPUS = "2"  # on a CPU: two gloo processes
    grey = grey_project(tmp_path)
    tiny_policy(grey.project, batch_size=2, global_batch=4)

    run = cycle(grey.project)

    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert run.final_step == 6 and run.candidate_accuracy is not None
    log = (Path(run.out_dir) / "training.log").read_text()
    assert '"step": 6' in log  # the CLI's JSON summary, printed by rank 0
    assert ModelVersion.objects.get() == run.candidate


@pytest.mark.django_db
def test_a_run_refuses_to_resume_from_a_folder_of_another_run(
    tmp_path: Path, training_env: dict[str, str]
) -> None:
    grey = grey_project(tmp_path)
    tiny_policy(grey.project)
    started = start_cycle(grey.project, enqueue=False)
    assert started.run is not None
    stale = Path(started.run.out_dir)  # e.g. left by a database restored from a backup
    (stale / "checkpoints").mkdir(parents=True)
    (stale / "run.json").write_text('{"run": 1, "project": "grey", "created_at": "2020"}')

    run = run_cycle(started.run.pk)

    assert run.status == TrainingRun.Status.FAILED
    assert f"{stale} belongs to another training run" in run.error
    assert ModelVersion.objects.count() == 0
