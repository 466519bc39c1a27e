"""`manage.py run_cycle --project SLUG [--force]`: the same cycle, synchronously, with a
progress display and a JSON summary as the last line."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from scoring.models import ModelVersion
from tests.services import child_env
from tests.training.pipeline_support import grey_project, tiny_policy, training_settings
from training.models import TrainingRun


def run_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "run_cycle", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_the_command_runs_a_cycle_and_ends_with_a_json_summary(
    tmp_path: Path, media_root: Path
) -> None:
    env = child_env(MEDIA_ROOT=str(media_root), **training_settings(tmp_path))
    grey = grey_project(tmp_path)
    tiny_policy(grey.project, min_new_judgments=10_000)

    not_due = run_command(env, "--project", "grey")
    assert not_due.returncode == 0, not_due.stderr
    assert json.loads(not_due.stdout.splitlines()[-1])["status"] == "skipped"
    assert "the policy waits for 10000" in not_due.stderr
    assert TrainingRun.objects.count() == 0

    done = run_command(env, "--project", "grey", "--force")

    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])
    run = TrainingRun.objects.get()
    assert summary["run"] == run.pk and summary["status"] == "succeeded"
    assert summary["candidate"] == ModelVersion.objects.get().name
    assert summary["candidate_accuracy"] == run.candidate_accuracy
    assert summary["promoted"] == run.promoted and summary["step"] == 6
    assert run.trigger == TrainingRun.Trigger.COMMAND
    for stage in ("exporting snapshot", "training from base", "evaluating the base weights",
                  "registering the candidate", "test accuracy"):  # fmt: skip
        assert f"[run {run.pk}] {stage}" in done.stderr


@pytest.mark.django_db(transaction=True)
def test_a_failed_cycle_exits_non_zero_with_the_reason_and_a_summary(
    tmp_path: Path, media_root: Path
) -> None:
    env = child_env(MEDIA_ROOT=str(media_root), **training_settings(tmp_path))
    grey = grey_project(tmp_path, with_test=False)
    tiny_policy(grey.project)

    failed = run_command(env, "--project", "grey")

    assert failed.returncode != 0
    assert "no judged test groups" in failed.stderr
    summary = json.loads(failed.stdout.splitlines()[-1])
    assert summary["status"] == "failed" and "--split test" in summary["error"]
    assert ModelVersion.objects.count() == 0


@pytest.mark.django_db
def test_an_unknown_project_is_named_in_the_error() -> None:
    with pytest.raises(CommandError, match="project 'nope' does not exist"):
        call_command("run_cycle", "--project", "nope", stdout=StringIO())
