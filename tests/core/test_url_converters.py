"""Row ids in URLs (core/url_converters.py): an id too large for any row is a 404 the
database never sees, not a 500 from PostgreSQL's "bigint out of range"."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from annotation.models import Role
from annotation.projects.accounts import add_user

pytestmark = pytest.mark.django_db

TOO_LARGE = "7559013050544198126632173568"  # past 2**63 - 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", f"/api/v1/assignments/{TOO_LARGE}/submit/"),
        ("post", f"/api/v1/assignments/{TOO_LARGE}/skip/"),
        ("get", f"/api/v1/exports/{TOO_LARGE}/"),
        ("get", f"/api/v1/imports/{TOO_LARGE}/"),
        ("get", f"/api/v1/score/jobs/{TOO_LARGE}/"),
        ("get", f"/api/v1/exports/{2**63 - 1}/"),  # the largest id: looked up, none
    ],
)
def test_an_id_past_any_row_is_a_404(method: str, path: str) -> None:
    admin = add_user("url-admin", Role.ADMIN, password="correct-horse-battery-9").user
    client = APIClient(raise_request_exception=True)
    client.force_authenticate(admin)

    response = getattr(client, method)(
        path, {"flags": [], "duration_ms": 1000, "ranking": [1, 2]}, format="json",
        HTTP_IDEMPOTENCY_KEY="one",
    )  # fmt: skip

    assert response.status_code == HTTPStatus.NOT_FOUND, response.content
