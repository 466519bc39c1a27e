"""A NUL character in a query string (core/query_strings.py) is a 400 naming the
parameter, on pages and the API alike; before, a search or filter handed it to
PostgreSQL and answered 500."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from annotation.models import Role
from annotation.projects.accounts import add_user
from tests.factories.tasks import make_project

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("api", [False, True], ids=["page", "api"])
def test_a_nul_in_a_search_is_a_400_naming_the_parameter(api: bool) -> None:
    admin = add_user("nul-admin", Role.ADMIN, password="correct-horse-battery-9").user
    project = make_project("foxes")
    client = Client()
    client.force_login(admin)
    url = (
        reverse("project-members-api", kwargs={"slug": project.slug})
        if api
        else reverse("project-members", kwargs={"slug": project.slug})
    )

    response = client.get(url, {"search" if api else "q": "fox\x00es"})

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    text = response.json()["detail"] if api else response.content.decode()
    assert "'search'" in text if api else "'q'" in text
    assert "NUL character" in text
    assert client.get(url, {"search" if api else "q": "foxes"}).status_code == HTTPStatus.OK
