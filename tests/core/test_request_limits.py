"""Every POST the site accepts (pages and API, from the permission tables) is refused with
a 413 naming the limit when its body is over IMPORT_MAX_ARCHIVE_BYTES, before any view runs
and with nothing written."""

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


@pytest.mark.parametrize("name", POSTS)
def test_an_oversized_body_is_refused_before_the_view(
    name: str, world: World, settings: Any
) -> None:
    settings.IMPORT_MAX_ARCHIVE_BYTES = 1000
    declared = 1000 + ENVELOPE_BYTES + 1
    client = world.client(ADMIN)
    url = url_of(name, world) if name in PAGES else url_for_api(name, world)
    with CaptureQueriesContext(connection) as queries:
        response = client.generic(
            "POST", url, b"", content_type="application/json", CONTENT_LENGTH=str(declared)
        )
    assert response.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE, name
    body = response.content.decode()
    assert f"{declared} bytes" in body and "IMPORT_MAX_ARCHIVE_BYTES" in body
    # Refused before the session was even read: not one query ran.
    assert len(queries) == 0, [q["sql"] for q in queries]


def url_for_api(name: str, world: World) -> str:
    """The API URL with the world's project; ids need not exist (nothing gets that far)."""
    keys = all_url_names()[name]
    return reverse(name, kwargs={key: world.slug if key == "slug" else 1 for key in keys})
