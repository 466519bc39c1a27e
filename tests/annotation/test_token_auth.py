"""API token authentication: the prepared-statement lookup refuses what DRF refuses."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from annotation.projects.accounts import add_user

pytestmark = pytest.mark.django_db


def get_projects(token: str) -> tuple[int, dict[str, str]]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = client.get(reverse("project-list"))
    return response.status_code, response.json()


def test_a_valid_token_signs_the_user_in() -> None:
    account = add_user("tok-valid", "researcher", password="correct-horse-battery-9")
    status, body = get_projects(account.token)
    assert status == HTTPStatus.OK, body


def test_an_unknown_token_is_refused() -> None:
    add_user("tok-other", "researcher", password="correct-horse-battery-9")
    status, body = get_projects("0" * 40)
    assert status == HTTPStatus.UNAUTHORIZED
    assert body == {"detail": "Invalid token."}


def test_a_deactivated_users_token_is_refused() -> None:
    account = add_user("tok-gone", "annotator", password="correct-horse-battery-9")
    account.user.is_active = False
    account.user.save(update_fields=["is_active"])
    status, body = get_projects(account.token)
    assert status == HTTPStatus.UNAUTHORIZED
    assert body == {"detail": "User inactive or deleted."}
