"""/manage/models/ (admins) and the scores on the project page (admins, researchers)."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from annotation.intake.importing import import_batch
from annotation.models import Image, User
from scoring import services
from scoring.models import ModelVersion
from tests.factories.batches import write_batch
from tests.factories.users import member_of
from tests.scoring.helpers import write_tiny_model

Register = Callable[..., ModelVersion]


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_admin_activates_and_retires_versions_on_the_models_page(
    register_tiny: Register, admin_user: User
) -> None:
    first, second = register_tiny("first"), register_tiny("second", seed=1)
    client = logged_in(admin_user)

    page = client.get(reverse("manage-models"))
    assert page.status_code == HTTPStatus.OK
    assert "first" in page.content.decode() and "second" in page.content.decode()

    client.post(reverse("manage-model-status", args=[first.pk, "activate"]))
    done = client.post(reverse("manage-model-status", args=[second.pk, "activate"]), follow=True)
    assert "second is now active." in done.content.decode()
    assert list(ModelVersion.objects.filter(status="active")) == [second]
    client.post(reverse("manage-model-status", args=[second.pk, "retire"]))
    assert not ModelVersion.objects.filter(status="active").exists()
    assert (
        client.post(reverse("manage-model-status", args=[first.pk, "explode"])).status_code == 404
    )
    assert (
        client.get(reverse("manage-model-status", args=[first.pk, "activate"])).status_code == 405
    )


@pytest.mark.django_db
def test_admin_registers_a_version_and_sees_why_a_bad_one_is_refused(
    tmp_path: Path, admin_user: User
) -> None:
    config, checkpoint = write_tiny_model(tmp_path)
    client = logged_in(admin_user)

    missing = client.post(
        reverse("manage-models"),
        {"name": "x", "architecture": str(config), "checkpoint_path": str(tmp_path / "gone.pt")},
    )
    assert missing.status_code == HTTPStatus.BAD_REQUEST
    assert "gone.pt: checkpoint file not found" in missing.content.decode()
    assert ModelVersion.objects.count() == 0

    ok = client.post(
        reverse("manage-models"),
        {
            "name": "tiny",
            "architecture": str(config),
            "checkpoint_path": str(checkpoint),
            "metrics": "{}",
        },
        follow=True,
    )
    assert "Registered tiny as a candidate." in ok.content.decode()
    assert ModelVersion.objects.get().status == "candidate"


@pytest.mark.django_db
def test_models_page_is_for_admins_only(researcher_user: User, annotator_user: User) -> None:
    for user in (researcher_user, annotator_user):
        assert logged_in(user).get(reverse("manage-models")).status_code == HTTPStatus.FORBIDDEN


@pytest.mark.django_db
def test_project_page_shows_generator_scores_to_researchers_never_to_annotators(
    tmp_path: Path, register_tiny: Register, researcher_user: User, annotator_user: User
) -> None:
    summary = import_batch(write_batch(tmp_path / "b", groups=2), "foxes")
    services.activate(register_tiny().pk)
    services.score_images_for_batch(summary.batch)
    project = Image.objects.first().project  # type: ignore[union-attr]
    means = services.mean_score_by_generator(project)
    url = reverse("project-page", args=["foxes"])
    member_of(project, researcher_user, "researcher")
    member_of(project, annotator_user, "annotator")

    page = logged_in(researcher_user).get(url).content.decode()

    assert "HPS scores by generator" in page
    for generator, mean in means.items():
        assert f"<td>{generator}</td><td>{mean:.4f}</td>" in page
    assert logged_in(annotator_user).get(url).status_code == HTTPStatus.FORBIDDEN
