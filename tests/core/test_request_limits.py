"""Every POST the site accepts (pages and API, from the permission tables) is refused with
a 413 naming its route's limit when its body is over it, before any view runs and with
nothing written: uploads may be large, JSON routes and the login form may not."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.request_limits import ENVELOPE_BYTES
from tests.annotation.test_api_permissions import MATRIX as API_MATRIX
from tests.site_world import ADMIN, World, all_url_names, make_world, url_of
from tests.test_page_permissions import PAGES

POSTS = sorted(
    name for table in (PAGES, API_MATRIX) for name, rows in table.items() if "POST" in rows
)


@pytest.fixture
def world(tmp_path: Path, db: None) -> World:
    return make_world(tmp_path)


def test_the_site_has_posts_to_check() -> None:
    assert {"login", "prompt-edit", "project-batches", "assignment-submit"} <= set(POSTS)


LIMITS = {
    "manage": ("IMPORT_MAX_ARCHIVE_BYTES", ENVELOPE_BYTES),
    "project-batches": ("IMPORT_MAX_ARCHIVE_BYTES", ENVELOPE_BYTES),
    "score-images": ("REQUEST_MAX_IMAGES_BYTES", ENVELOPE_BYTES),
    "login": ("REQUEST_MAX_LOGIN_BYTES", 0),
}


@pytest.mark.parametrize("name", POSTS)
def test_an_oversized_body_is_refused_before_the_view(
    name: str, world: World, settings: Any
) -> None:
    setting, envelope = LIMITS.get(name, ("REQUEST_MAX_BODY_BYTES", 0))
    setattr(settings, setting, 1000)
    declared = 1000 + envelope + 1
    client = world.client(ADMIN)
    url = url_of(name, world) if name in PAGES else url_for_api(name, world)
    with CaptureQueriesContext(connection) as queries:
        response = client.generic(
            "POST", url, b"", content_type="application/json", CONTENT_LENGTH=str(declared)
        )
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE, name
    body = response.content.decode()
    assert f"{declared} bytes" in body and f"over the limit of 1000 bytes ({setting})" in body
    # Refused before the session was even read: not one query ran.
    assert len(queries) == 0, [q["sql"] for q in queries]


def url_for_api(name: str, world: World) -> str:
    """The API URL with the world's project; ids need not exist (nothing gets that far)."""
    keys = all_url_names()[name]
    return reverse(name, kwargs={key: world.slug if key == "slug" else 1 for key in keys})


def test_json_routes_and_the_login_form_take_small_bodies_and_uploads_large_ones(
    world: World,
) -> None:
    """With the default limits: 2 MiB is refused on submit and login, not on an upload."""
    declared = str(2 * 1024**2)
    client = world.client(ADMIN)
    submit = url_for_api("assignment-submit", world)
    login = reverse("login")
    upload = url_for_api("project-batches", world)

    answers = {
        url: client.generic(
            "POST", url, b"", content_type="application/json", CONTENT_LENGTH=declared
        )
        for url in (submit, login, upload)
    }

    assert answers[submit].status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "REQUEST_MAX_BODY_BYTES" in answers[submit].json()["detail"]
    assert answers[login].status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert "REQUEST_MAX_LOGIN_BYTES" in answers[login].content.decode()
    assert answers[upload].status_code != HTTPStatus.REQUEST_ENTITY_TOO_LARGE
