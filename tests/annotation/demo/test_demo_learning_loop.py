"""A fresh demo's learning loop on the CPU: "Start a cycle now" on a demo project's
training page runs a cycle from the demo model (random start weights) to the chart."""

from __future__ import annotations

import io
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from annotation.demo.model import DEMO_MODEL_CONFIG, DEMO_RECIPE
from scoring.models import ModelVersion
from scoring.queries import DEMO_MODEL_LABEL, DEMO_MODEL_NAME
from training.models import TrainingRun
from training.services.cycle import run_cycle

pytestmark = pytest.mark.django_db

DEMO_STEPS = 6  # the demo's own recipe (40 steps) takes longer than the suite can spare


@pytest.fixture
def cpu_loop(settings: Any) -> None:
    """The platform as a fresh `make run` has it: no base weights, training on the CPU."""
    settings.TRAINING_BASE_MODEL = "ViT-H-14"
    settings.TRAINING_BASE_CHECKPOINT = ""
    settings.TRAINING_BASE_PRETRAINED = ""
    settings.TRAINING_GPUS = "1"
    settings.TRAINING_DEVICE = "cpu"


def test_a_fresh_demo_runs_a_cycle_from_the_training_page_to_the_accuracy_chart(
    cpu_loop: None, training_folders: Path
) -> None:
    out = io.StringIO()
    call_command("demo", "--groups", "6", stdout=out)
    assert f"registered and activated {DEMO_MODEL_NAME}" in out.getvalue()
    demo = ModelVersion.objects.get()
    assert demo.name == DEMO_MODEL_NAME and demo.status == ModelVersion.Status.ACTIVE
    assert demo.model_config == DEMO_MODEL_CONFIG
    assert Path(demo.checkpoint_path).parent == training_folders / ".demo-model"
    assert DEMO_MODEL_LABEL in demo.source
    admin = Client()
    admin.force_login(demo.created_by)  # type: ignore[arg-type]
    project = "demo-pairwise"
    page = reverse("training-project", args=[project])
    # The demo's recipe, cut to a few steps here (the page's policy form is the way).
    policy = admin.get(page).context["policy"]
    assert policy.steps == DEMO_RECIPE["steps"] and policy.batch_size == DEMO_RECIPE["batch_size"]
    policy.steps, policy.checkpoint_every = DEMO_STEPS, DEMO_STEPS
    policy.save()

    assert admin.post(reverse("training-start", args=[project])).status_code == HTTPStatus.FOUND
    run = run_cycle(TrainingRun.objects.get(project__slug=project).pk)

    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    assert run.final_step == DEMO_STEPS
    assert run.starting_version == demo and run.active_version == demo
    assert run.candidate_accuracy is not None and run.active_accuracy is not None
    assert run.human_ceiling is not None and run.base_accuracy is None
    assert run.candidate is not None and run.candidate.name == f"{project}-run-{run.pk}"
    promoted = run.candidate_accuracy >= run.active_accuracy
    assert run.promoted is promoted
    body = admin.get(page).content.decode()
    chart = body.split("<h2>Accuracy over time</h2>", 1)[1].split("<h2>Runs</h2>", 1)[0]
    assert "<svg" in chart and "No evaluated run yet." not in chart
    assert run.candidate.name in chart and DEMO_MODEL_NAME in chart and "human ceiling" in chart
    assert f"{DEMO_MODEL_LABEL.capitalize()}:" in body
    assert f"{run.candidate_accuracy:.4f}" in body  # the run's row


def test_the_demo_keeps_a_configured_starting_point_and_seeds_its_model_once(
    cpu_loop: None, settings: Any, tmp_path: Path
) -> None:
    checkpoint = tmp_path / "base.pt"
    checkpoint.write_bytes(b"weights an operator configured")
    settings.TRAINING_BASE_CHECKPOINT = str(checkpoint)
    out = io.StringIO()
    call_command("demo", "--groups", "1", "--no-judgments", stdout=out)
    assert "demo cycles start from the TRAINING_BASE_* weights" in out.getvalue()
    assert not ModelVersion.objects.exists()

    settings.TRAINING_BASE_CHECKPOINT = ""
    call_command("demo", "--groups", "1", "--no-judgments", stdout=out)
    call_command("demo", "--groups", "1", "--no-judgments", stdout=out)
    assert ModelVersion.objects.get().name == DEMO_MODEL_NAME
    assert f"{DEMO_MODEL_NAME} ({DEMO_MODEL_LABEL}) is registered already" in out.getvalue()
