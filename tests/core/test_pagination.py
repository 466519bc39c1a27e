"""API lists page with ?limit= and ?offset=, and ?limit= is capped at API_MAX_PAGE_SIZE."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
from django.urls import reverse

from annotation.models import User
from tests.conftest import client_for
from tests.factories.tasks import make_project

pytestmark = pytest.mark.django_db


def test_a_huge_limit_gets_one_bounded_page_and_a_link_to_the_rest(
    researcher_user: User, settings: Any
) -> None:
    settings.API_MAX_PAGE_SIZE = 3
    for n in range(5):
        make_project(f"p-{n}")

    response = client_for(researcher_user).get(reverse("project-list"), {"limit": 10_000_000})

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["count"] == 5 and len(body["results"]) == 3
    assert "limit=3" in body["next"] and "offset=3" in body["next"]
