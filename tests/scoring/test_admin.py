"""Django's /admin/ pages of the registry render; scores cannot be edited there."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from annotation.intake.importing import import_batch
from annotation.models import User
from scoring import services
from scoring.models import BenchmarkJob, BenchmarkResult, ImageScore, ModelVersion, ScoreJob
from tests.factories.batches import write_batch


@pytest.mark.django_db
def test_registry_admin_pages_render(
    tmp_path: Path, register_tiny: Callable[..., ModelVersion], admin_user: User
) -> None:
    summary = import_batch(write_batch(tmp_path / "b", groups=1), "foxes")
    version = services.activate(register_tiny().pk)
    services.score_images_for_batch(summary.batch)
    score = ImageScore.objects.first()
    assert score is not None
    client = Client()
    client.force_login(admin_user)

    for name, pk in (("modelversion", version.pk), ("imagescore", score.pk)):
        changelist = reverse(f"admin:scoring_{name}_changelist")
        assert client.get(changelist, {"q": "a"}).status_code == HTTPStatus.OK
        change = reverse(f"admin:scoring_{name}_change", args=[pk])
        assert client.get(change).status_code == HTTPStatus.OK
    assert client.get(reverse("admin:scoring_imagescore_add")).status_code == HTTPStatus.FORBIDDEN
    before = score.score
    client.post(reverse("admin:scoring_imagescore_change", args=[score.pk]), {"score": "9"})
    score.refresh_from_db()
    assert score.score == before


@pytest.mark.django_db
def test_benchmark_and_score_job_admin_pages_render_read_only(
    register_tiny: Callable[..., ModelVersion], admin_user: User
) -> None:
    version = register_tiny()
    rows = {
        "benchmarkresult": BenchmarkResult.objects.create(
            generator="sdxl",
            model_version=version,
            images_checksum="0" * 64,
            precision="fp16",
            antialias=False,
            figures={"styles": {}, "average": {}},
            bootstrap=10,
            seed=0,
        ),
        "benchmarkjob": BenchmarkJob.objects.create(model_version=version),
        "scorejob": ScoreJob.objects.create(model_version=version, image_ids=[1]),
    }
    client = Client()
    client.force_login(admin_user)
    for name, row in rows.items():
        assert client.get(reverse(f"admin:scoring_{name}_changelist")).status_code == HTTPStatus.OK
        change = reverse(f"admin:scoring_{name}_change", args=[row.pk])
        assert client.get(change).status_code == HTTPStatus.OK
        assert client.get(reverse(f"admin:scoring_{name}_add")).status_code == HTTPStatus.FORBIDDEN
