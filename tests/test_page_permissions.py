"""Every URL of the site outside /api/v1/, every role: the status each gets.

The table is keyed by URL name, and the first test walks the whole URL conf: a new page,
API endpoint or health URL without a row here (or in the API matrix,
tests/annotation/test_api_permissions.py) fails the suite. Django's admin checks its own
permissions; one admin URL stands for it.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest

from tests.annotation.test_api_permissions import MATRIX as API_MATRIX
from tests.site_world import ADMIN, ANNOTATOR, ANON, RESEARCHER, ROLES, World, all_url_names, url_of

OK, FOUND, FORBIDDEN = HTTPStatus.OK, HTTPStatus.FOUND, HTTPStatus.FORBIDDEN
NOT_ALLOWED, BAD = HTTPStatus.METHOD_NOT_ALLOWED, HTTPStatus.BAD_REQUEST
LOGIN = "login"  # a 302 to the login page, with ?next= back to the URL


def public(status: int) -> dict[str, Any]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int) -> dict[str, Any]:
    return {ANON: LOGIN, ANNOTATOR: status, RESEARCHER: status, ADMIN: status}


def readers(status: int) -> dict[str, Any]:
    return {ANON: LOGIN, ANNOTATOR: FORBIDDEN, RESEARCHER: status, ADMIN: status}


def admins(status: int) -> dict[str, Any]:
    return {ANON: LOGIN, ANNOTATOR: FORBIDDEN, RESEARCHER: FORBIDDEN, ADMIN: status}


# URL name -> method -> role -> status (or LOGIN). POSTs carry an empty form: a 400 or a
# redirect back means the request passed the permission check and was then handled.
PAGES: dict[str, dict[str, dict[str, Any]]] = {
    "home": {"GET": public(OK)},
    "project-page": {"GET": readers(OK)},
    "annotate": {"GET": signed_in(OK)},
    "media-file": {"GET": signed_in(OK)},
    "datasets": {"GET": readers(OK)},
    "datasets-export": {"GET": readers(FOUND), "POST": readers(BAD)},
    "manage": {"GET": admins(OK), "POST": admins(BAD)},
    "flagged-images": {"GET": admins(OK)},
    "quality-dashboard": {"GET": admins(OK), "POST": admins(BAD)},
    "annotator-exclusion": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    "make-gold": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    "schedule-repeats": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    "prompt-review": {"GET": admins(OK)},
    "prompt-bulk": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    "prompt-edit": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    "prompt-annotator-text": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    "manage-models": {"GET": admins(OK), "POST": admins(BAD)},
    "manage-model-status": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    # The learning loop: an empty schedule or policy form is refused with 400; starting a
    # cycle, promoting (the world's candidate has no checkpoint file) and rolling back
    # (nothing to go back to) answer with a redirect and a message.
    "manage-training": {"GET": admins(OK), "POST": admins(BAD)},
    "training-project": {"GET": admins(OK), "POST": admins(BAD)},
    "training-start": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    "training-promote": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    "training-rollback": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    # The API's description and its docs page are public, as the API's login is a token.
    "api-schema": {"GET": public(OK)},
    "api-docs": {"GET": public(OK)},
    "healthz": {"GET": public(OK), "POST": public(NOT_ALLOWED)},
    "admin:index": {
        "GET": {ANON: FOUND, ANNOTATOR: FOUND, RESEARCHER: FOUND, ADMIN: OK},
    },
    # Django's account pages.
    "login": {"GET": public(OK), "POST": public(OK)},  # an empty form is shown again
    "logout": {"GET": public(NOT_ALLOWED), "POST": public(FOUND)},
    "password_change": {"GET": signed_in(OK), "POST": signed_in(OK)},
    "password_change_done": {"GET": signed_in(OK)},
    "password_reset": {"GET": public(OK), "POST": public(OK)},
    "password_reset_done": {"GET": public(OK)},
    "password_reset_confirm": {"GET": public(OK)},
    "password_reset_complete": {"GET": public(OK)},
}


def test_every_url_has_a_row_in_a_permission_matrix() -> None:
    names = {name for name in all_url_names() if not name.startswith("admin:")}
    missing = names - set(PAGES) - set(API_MATRIX)
    assert not missing, (
        f"add these URL names to PAGES in {__name__} (pages) or to MATRIX in "
        f"tests/annotation/test_api_permissions.py (API), with a status per role: {missing}"
    )
    stale = set(PAGES) - set(all_url_names())
    assert not stale, f"PAGES names URLs that no longer exist: {stale}"
    for name, methods in PAGES.items():
        for method, statuses in methods.items():
            assert set(statuses) == set(ROLES), (name, method)


@pytest.fixture
def world(tmp_path: Path, db: None) -> World:
    from tests.site_world import make_world

    return make_world(tmp_path)


@pytest.mark.parametrize(
    ("name", "method"), [(name, method) for name, rows in PAGES.items() for method in rows]
)
@pytest.mark.parametrize("role", ROLES)
def test_page_matrix(name: str, method: str, role: str, world: World) -> None:
    client = world.client(role)
    url = url_of(name, world)
    response = client.get(url) if method == "GET" else client.post(url, {})
    expected = PAGES[name][method][role]
    if expected == LOGIN:
        assert response.status_code == FOUND, (name, method, role, response.status_code)
        assert response["Location"].startswith("/accounts/login/?next="), response["Location"]
    else:
        assert response.status_code == expected, (name, method, role, response.status_code)
