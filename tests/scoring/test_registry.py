"""The model registry: candidates, one active version, scores stored per image."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from itertools import pairwise
from pathlib import Path

import pytest
import redis
import torch
from django.conf import settings
from django.db import IntegrityError, transaction
from django.test import override_settings

from annotation.intake.batch_processing import process_batch
from annotation.intake.importing import import_batch
from annotation.models import Image, Task
from scoring import services
from scoring.core import Scorer, load_model
from scoring.models import ImageScore, ModelVersion
from scoring.tasks import score_batch_images
from tests.factories.batches import write_batch
from tests.scoring.helpers import TINY_CONFIG, write_tiny_model

Register = Callable[..., ModelVersion]


@pytest.mark.django_db
def test_register_records_a_candidate_with_the_checkpoints_sha256(register_tiny: Register) -> None:
    version = register_tiny("hps-a")
    digest = hashlib.sha256(Path(version.checkpoint_path).read_bytes()).hexdigest()
    assert version.status == ModelVersion.Status.CANDIDATE
    assert version.checkpoint_sha256 == digest
    assert version.model_config == TINY_CONFIG
    assert version.metrics == {"hpd_test": 0.5}


@pytest.mark.django_db
def test_register_refuses_bad_input_and_writes_nothing(
    tmp_path: Path, register_tiny: Register
) -> None:
    register_tiny("taken")
    with pytest.raises(services.ScoringError, match="named 'taken' exists already"):
        register_tiny("taken")
    with pytest.raises(services.ScoringError, match=r"nope\.pt: checkpoint file not found"):
        services.register_model_version("x", "ViT-B-32", tmp_path / "nope.pt")
    _, checkpoint = write_tiny_model(tmp_path / "m")
    wider = dict(TINY_CONFIG, embed_dim=48)
    with pytest.raises(services.ScoringError, match="does not fit architecture"):
        services.register_model_version("wrong", "wider", checkpoint, model_config=wider)
    assert list(ModelVersion.objects.values_list("name", flat=True)) == ["taken"]


@pytest.mark.django_db
def test_activating_retires_the_previous_active_version(register_tiny: Register) -> None:
    first, second = register_tiny("first"), register_tiny("second", seed=1)
    services.activate(first.pk)
    services.activate(second.pk)
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("retired", "active")
    assert first.retired_at is not None and second.activated_at is not None
    assert services.active_model_version() == second
    services.retire(second.pk)
    assert services.active_model_version() is None


@pytest.mark.django_db
def test_the_database_refuses_two_active_versions(register_tiny: Register) -> None:
    first, second = register_tiny("first"), register_tiny("second", seed=1)
    services.activate(first.pk)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=second.pk).update(status=ModelVersion.Status.ACTIVE)


@pytest.mark.django_db
def test_a_checkpoint_changed_after_registration_is_not_activated(register_tiny: Register) -> None:
    version = register_tiny("changed")
    path = Path(version.checkpoint_path)
    state = torch.load(path)
    state["state_dict"]["logit_scale"] += 1
    torch.save(state, path)
    with pytest.raises(
        services.ScoringError, match="checkpoint changed since changed was registered"
    ):
        services.activate(version.pk)
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.CANDIDATE


def imported_batch(tmp_path: Path, groups: int = 3) -> int:
    folder = write_batch(tmp_path / "batch", groups=groups, images_per_group=3)
    return import_batch(folder, "foxes").batch


@pytest.mark.django_db
def test_batch_scores_are_the_scorers_and_stored_once(
    tmp_path: Path, register_tiny: Register
) -> None:
    batch_id = imported_batch(tmp_path)
    assert services.score_images_for_batch(batch_id) is None  # nothing active: nothing scored
    version = services.activate(register_tiny("v1").pk)

    stored = services.score_images_for_batch(batch_id)

    assert stored is not None and stored.scored == 9 and stored.skipped == []
    scorer = Scorer(load_model("tiny", version.checkpoint_path, model_config=TINY_CONFIG))
    for image in Image.objects.select_related("prompt"):
        expected = scorer.score(image.prompt.raw_text, [Path(settings.MEDIA_ROOT) / image.file])
        row = ImageScore.objects.get(image=image, model_version=version)
        assert row.score == pytest.approx(expected.scores[0], abs=1e-5)
    again = services.score_images_for_batch(batch_id)
    assert again is not None and again.scored == 0
    assert ImageScore.objects.count() == 9
    assert score_batch_images(batch_id) == 0  # the task: same service, idempotent


def margins_from_scores(version: ModelVersion) -> dict[int, float | None]:
    """Each task's smallest gap between two of its images' scores under `version`."""
    margins: dict[int, float | None] = {}
    for task in Task.objects.prefetch_related("task_images"):
        ids = [ti.image_id for ti in task.task_images.all()]
        scores = dict(
            ImageScore.objects.filter(model_version=version, image_id__in=ids).values_list(
                "image_id", "score"
            )
        )
        ordered = sorted(scores.values())
        gaps = [b - a for a, b in pairwise(ordered)]
        margins[task.pk] = min(gaps) if len(scores) == len(ids) else None
    return margins


@pytest.mark.django_db
def test_stored_scores_of_the_active_version_set_the_serving_margins(
    tmp_path: Path, register_tiny: Register
) -> None:
    batch_id = imported_batch(tmp_path)
    first, second = register_tiny("v1"), register_tiny("v2", seed=1)
    services.activate(first.pk)
    assert set(Task.objects.values_list("model_margin", flat=True)) == {None}

    services.score_images_for_batch(batch_id)
    services.score_images_for_batch(batch_id, "v2")  # not active: margins stay v1's

    stored = dict(Task.objects.values_list("pk", "model_margin"))
    expected = margins_from_scores(first)
    assert all(margin is not None for margin in expected.values())
    assert stored == pytest.approx(expected)
    services.activate(second.pk)  # recomputed from the new active version's scores
    assert dict(Task.objects.values_list("pk", "model_margin")) == pytest.approx(
        margins_from_scores(second)
    )
    services.retire(second.pk)  # no active scorer: no margins
    assert set(Task.objects.values_list("model_margin", flat=True)) == {None}


@pytest.mark.django_db
def test_stored_scores_record_the_precision_and_antialias_that_ran(
    tmp_path: Path, register_tiny: Register
) -> None:
    batch_id = imported_batch(tmp_path)
    version = services.activate(register_tiny("v1").pk)

    with override_settings(SCORING_PRECISION="bf16", SCORING_ANTIALIAS=True):
        services.score_images_for_batch(batch_id)

    rows = list(ImageScore.objects.filter(model_version=version).select_related("image__prompt"))
    # bf16 asked; a CPU runs fp32, and the row says what ran.
    assert {(row.precision, row.antialias) for row in rows} == {("fp32", True)}
    hps = load_model("tiny", version.checkpoint_path, model_config=TINY_CONFIG)
    row = rows[0]
    path = Path(settings.MEDIA_ROOT) / row.image.file
    antialiased = Scorer(hps, antialias=True).score(row.image.prompt.raw_text, [path]).scores[0]
    assert row.score == pytest.approx(antialiased, abs=1e-5)


@pytest.mark.django_db
def test_mean_score_by_generator_uses_the_active_version_and_images_in_circulation(
    tmp_path: Path, register_tiny: Register
) -> None:
    batch_id = imported_batch(tmp_path)
    project = Image.objects.first().project  # type: ignore[union-attr]
    assert services.mean_score_by_generator(project) == {}
    services.activate(register_tiny("v1").pk)
    services.score_images_for_batch(batch_id)
    withdrawn = Image.objects.filter(generator="gen-0").order_by("pk").first()
    assert withdrawn is not None
    Image.objects.filter(pk=withdrawn.pk).update(is_withdrawn=True)

    means = services.mean_score_by_generator(project)

    assert sorted(means) == ["gen-0", "gen-1", "gen-2"]
    for generator, mean in means.items():
        scores = ImageScore.objects.filter(
            image__generator=generator, image__is_withdrawn=False
        ).values_list("score", flat=True)
        assert mean == pytest.approx(sum(scores) / len(scores))
    assert ImageScore.objects.filter(image__generator="gen-0").count() == 3


@pytest.mark.django_db(transaction=True)
def test_processing_a_batch_queues_its_scoring_on_the_gpu_queue(tmp_path: Path) -> None:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("gpu")
    batch_id = imported_batch(tmp_path, groups=1)

    assert process_batch(batch_id) is True

    messages = [json.loads(raw) for raw in broker.lrange("gpu", 0, -1)]
    queued = [m for m in messages if m["headers"]["task"] == "scoring.score_batch_images"]
    assert [m["headers"]["argsrepr"] for m in queued] == [f"({batch_id},)"]
    broker.delete("gpu")


@pytest.mark.django_db
def test_activation_queues_scoring_of_batches_without_its_scores(
    tmp_path: Path,
    register_tiny: Register,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[object]],
) -> None:
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("gpu")
    batch_id = imported_batch(tmp_path, groups=1)
    version = register_tiny("v1")

    with django_capture_on_commit_callbacks(execute=True):
        services.activate(version.pk)

    messages = [json.loads(raw) for raw in broker.lrange("gpu", 0, -1)]
    assert [m["headers"]["argsrepr"] for m in messages] == [f"({batch_id},)"]
    broker.delete("gpu")
    services.score_images_for_batch(batch_id)
    assert services.unscored_batch_ids(version) == []


@pytest.mark.django_db
def test_prompt_scores_and_partly_scored_batches(tmp_path: Path, register_tiny: Register) -> None:
    batch_id = imported_batch(tmp_path, groups=2)
    version = services.activate(register_tiny("v1").pk)
    prompt_id = Image.objects.order_by("pk").first().prompt_id  # type: ignore[union-attr]

    scores = services.score_prompt_images(prompt_id)

    images = list(Image.objects.filter(prompt_id=prompt_id))
    assert sorted(scores) == sorted(image.pk for image in images)
    assert ImageScore.objects.count() == 3
    assert services.unscored_batch_ids(version) == [batch_id]  # the other prompt's images
    services.score_images_for_batch(batch_id)
    assert services.unscored_batch_ids(version) == []
    assert services.score_prompt_images(prompt_id) == scores  # read back, not rescored


def test_web_and_task_modules_do_not_import_torch() -> None:
    """Pages, the API's imports and the task queue stay light; torch loads on first use."""
    import subprocess
    import sys

    code = (
        "import django, sys; django.setup(); "
        "import config.urls, scoring.tasks, annotation.intake.batch_processing; "
        "print('torch' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "False"
