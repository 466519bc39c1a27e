"""Django's /admin/ for the platform's models: every page an admin opens renders."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from annotation.intake.importing import import_batch
from annotation.models import User
from tests.factories.batches import write_batch

pytestmark = pytest.mark.django_db

PLATFORM_MODELS = sorted(
    (model._meta.app_label, model._meta.model_name)
    for model in admin.site._registry
    if model._meta.app_label == "annotation"
)


def test_every_platform_model_is_registered() -> None:
    assert [name for _, name in PLATFORM_MODELS] == [
        "assignment",
        "batch",
        "exportsnapshot",
        "image",
        "imageflag",
        "judgment",
        "llmcleaning",
        "pairjudgment",
        "project",
        "projectannotator",
        "prompt",
        "qualitysettings",
        "storedreport",
        "task",
        "user",
    ]


@pytest.mark.parametrize(("app", "model"), PLATFORM_MODELS)
def test_list_search_and_change_pages_render(
    app: str, model: str, admin_user: User, tmp_path: Path
) -> None:
    import_batch(write_batch(tmp_path / "b", groups=2), "foxes")
    client = Client()
    client.force_login(admin_user)
    changelist = reverse(f"admin:{app}_{model}_changelist")

    assert client.get(changelist).status_code == HTTPStatus.OK
    assert client.get(changelist, {"q": "fox"}).status_code == HTTPStatus.OK
    # Assignments and judgments have no rows until annotators work: only their lists render.
    instance = apps.get_model(app, model)._default_manager.first()
    if instance is not None:
        change = reverse(f"admin:{app}_{model}_change", args=[instance.pk])
        assert client.get(change).status_code == HTTPStatus.OK
