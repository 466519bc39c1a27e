"""/manage/training/: the runs with their loss curves, accuracy against the human ceiling,
promote and roll back (admins only), the schedule and policy forms."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.forms.models import model_to_dict
from django.test import Client
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from annotation.models import Image, User
from annotation.projects.accounts import add_user
from scoring import services as registry
from scoring.models import ModelVersion
from tests.scoring.helpers import TINY_CONFIG, write_tiny_model
from tests.training.pipeline_support import grey_project, tiny_policy, training_env
from training.models import TrainingPolicy, TrainingRun
from training.services.cycle import run_cycle, start_cycle
from training.services.schedule import SCHEDULE_NAME, set_cycle_schedule

__all__ = ["training_env"]


def client_of(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin(db: None) -> Client:
    return client_of(add_user("tess-admin", "admin", password="correct-horse-9x").user)


@pytest.fixture
def others(db: None) -> list[Client]:
    return [
        client_of(add_user(f"tess-{role}", role, password="correct-horse-9x").user)
        for role in ("annotator", "researcher")
    ]


def registered(tmp: Path, name: str, seed: int) -> ModelVersion:
    _, checkpoint = write_tiny_model(tmp / name, seed=seed)
    return registry.register_model_version(
        name, "tiny-clip", checkpoint, model_config=TINY_CONFIG, metrics={}
    )


@pytest.mark.django_db
def test_the_project_page_charts_each_runs_loss_and_accuracy_against_the_ceiling(
    tmp_path: Path, training_env: dict[str, str], admin: Client
) -> None:
    grey = grey_project(tmp_path)
    held_out = Image.objects.filter(project=grey.project).order_by("pk")[0].generator
    tiny_policy(grey.project, hold_out_generators=held_out)
    started = start_cycle(grey.project, force=True, enqueue=False)
    assert started.run is not None
    run = run_cycle(started.run.pk)
    assert run.status == TrainingRun.Status.SUCCEEDED, run.error
    measured = run.config["by_generator"]
    test_generators = set(
        Image.objects.filter(project=grey.project, tasks__batch__split="test").values_list(
            "generator", flat=True
        )
    )
    assert set(measured["by_generator"]) == test_generators
    assert measured["held_out_generators"] == [held_out]

    page = admin.get(reverse("training-project", args=[grey.project.slug]))

    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert f"Training loss of run {run.pk}" in html
    assert html.count("<svg") == 2
    assert "Test accuracy of each model version against the human ceiling" in html
    assert run.candidate is not None
    assert f"{run.candidate.name} at run {run.pk}" in html
    assert "human ceiling at run" in html and "base weights at run" in html
    assert f"{run.candidate_accuracy:.4f}" in html
    assert "Accuracy per generator" in html and f"held out: {held_out}" in html
    assert "not in the test set" in html  # the held-out generator made only train images
    assert html.count('> <span class="hint">seen</span>') == len(test_generators)
    overview = admin.get(reverse("manage-training")).content.decode()
    assert f'id="run-{run.pk}"' in overview and run.candidate.name in overview


@pytest.mark.django_db
def test_promote_and_roll_back_switch_the_active_version_for_admins_only(
    tmp_path: Path, admin: Client, others: list[Client]
) -> None:
    old = registered(tmp_path, "tiny-old", 1)
    new = registered(tmp_path, "tiny-new", 2)
    registry.activate(old.pk)
    promote_url = reverse("training-promote", args=[new.pk])
    rollback_url = reverse("training-rollback")

    for client in others:
        assert client.post(promote_url).status_code == HTTPStatus.FORBIDDEN
        assert client.post(rollback_url).status_code == HTTPStatus.FORBIDDEN
    assert ModelVersion.objects.get(status="active") == old
    assert admin.get(promote_url).status_code == HTTPStatus.METHOD_NOT_ALLOWED

    response = admin.post(promote_url)
    assert response.status_code == HTTPStatus.FOUND
    assert ModelVersion.objects.get(status="active") == new
    page = admin.get(reverse("manage-training")).content.decode()
    assert "tiny-new is now the active model." in page
    assert "Roll back to tiny-old" in page

    assert admin.post(rollback_url).status_code == HTTPStatus.FOUND
    assert ModelVersion.objects.get(status="active") == old
    assert ModelVersion.objects.get(pk=new.pk).status == ModelVersion.Status.RETIRED
    assert "Rolled back: tiny-old is the active model again." in (
        admin.get(reverse("manage-training")).content.decode()
    )


@pytest.mark.django_db
def test_roll_back_with_nothing_before_and_promoting_a_broken_version_change_nothing(
    tmp_path: Path, admin: Client
) -> None:
    only = registered(tmp_path, "tiny-only", 1)
    registry.activate(only.pk)
    broken = registered(tmp_path, "tiny-broken", 2)
    Path(broken.checkpoint_path).write_bytes(b"changed")
    before = sorted(ModelVersion.objects.values_list("pk", "status"))

    admin.post(reverse("training-rollback"))
    rollback = admin.get(reverse("manage-training")).content.decode()
    admin.post(reverse("training-promote", args=[broken.pk]))
    promote = admin.get(reverse("manage-training")).content.decode()

    assert "nothing to roll back to" in rollback
    assert "the checkpoint changed since tiny-broken was registered" in promote
    assert sorted(ModelVersion.objects.values_list("pk", "status")) == before


@pytest.mark.django_db
def test_the_policy_form_saves_good_input_and_refuses_bad_input_with_reasons(
    tmp_path: Path, admin: Client, others: list[Client]
) -> None:
    grey = grey_project(tmp_path, train_groups=2, test_groups=1, annotators=1)
    url = reverse("training-project", args=[grey.project.slug])
    assert admin.get(url).status_code == HTTPStatus.OK  # the policy is created with defaults
    policy = TrainingPolicy.objects.get(project=grey.project)
    good: dict[str, Any] = {
        **{k: v for k, v in model_to_dict(policy).items() if v is not None},
        "enabled": "on",
        "min_new_judgments": 50,
        "promote_margin": 0.01,
    }
    good.pop("id"), good.pop("project")
    for client in others:  # not members of the project: it does not exist for them
        assert client.post(url, good).status_code == HTTPStatus.NOT_FOUND
    bad = {**good, "global_batch": 100, "batch_size": 16, "warmup_steps": 9000, "lr": 0}
    before = model_to_dict(TrainingPolicy.objects.get(pk=policy.pk))

    refused = admin.post(url, bad)

    assert refused.status_code == HTTPStatus.BAD_REQUEST
    html = refused.content.decode()
    assert "Give a multiple of the batch size (16)" in html
    assert "Give at most the number of steps (4000)" in html
    assert "Give a learning rate above 0" in html
    assert model_to_dict(TrainingPolicy.objects.get(pk=policy.pk)) == before

    assert admin.post(url, good).status_code == HTTPStatus.FOUND
    saved = TrainingPolicy.objects.get(pk=policy.pk)
    assert (saved.enabled, saved.min_new_judgments, saved.promote_margin) == (True, 50, 0.01)


@pytest.mark.django_db
def test_the_schedule_form_edits_the_beat_row_and_refuses_a_bad_interval(admin: Client) -> None:
    set_cycle_schedule(15, True)
    url = reverse("manage-training")

    refused = admin.post(url, {"interval_minutes": "0", "enabled": "on"})
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert "Ensure this value is greater than or equal to 1." in refused.content.decode()
    task = PeriodicTask.objects.get(name=SCHEDULE_NAME)
    assert (task.interval.every, task.enabled) == (15, True)

    assert admin.post(url, {"interval_minutes": "30"}).status_code == HTTPStatus.FOUND
    task.refresh_from_db()
    assert (task.interval.every, task.interval.period, task.enabled) == (30, "minutes", False)


@pytest.mark.django_db
def test_start_now_queues_one_run_and_says_so_when_one_is_live(
    tmp_path: Path, admin: Client
) -> None:
    grey = grey_project(tmp_path, train_groups=2, test_groups=1, annotators=1)
    url = reverse("training-start", args=[grey.project.slug])

    assert admin.post(url).status_code == HTTPStatus.FOUND
    run = TrainingRun.objects.get()
    assert run.trigger == TrainingRun.Trigger.PAGE and run.requested_by is not None
    admin.post(url)
    page = admin.get(reverse("training-project", args=[grey.project.slug])).content.decode()
    assert f"No cycle started: run {run.pk} is already queued." in page
    assert TrainingRun.objects.count() == 1
