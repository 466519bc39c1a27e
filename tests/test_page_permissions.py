"""Every URL of the site outside /api/v1/, every asker: the status each gets.

The askers are the membership dimension (tests/site_world.py): members of the world's
closed project in each project role, an annotator who is not a member (and the same
while the project is open to all annotators), a researcher of another project, an
admin, and the anonymous visitor. A project the asker may not see answers 404, as an
unknown one would; a member whose role does not allow the page gets 403.

The table is keyed by URL name, and the first test walks the whole URL conf: a new page,
API endpoint or health URL without a row here (or in the API matrix,
tests/annotation/test_api_permissions.py) fails the suite. Django's admin checks its own
permissions; one admin URL stands for it. docs/roles.md shows these tables
(tests/test_permission_docs.py keeps it in step).
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest

from tests.annotation.test_api_permissions import MATRIX as API_MATRIX
from tests.permission_tables import LOGIN, in_project, only
from tests.site_world import (
    ADMIN,
    ANON,
    ELSEWHERE,
    MANAGER,
    RESEARCHER,
    REVIEWER,
    ROLES,
    World,
    all_url_names,
    opened,
    url_of,
)

OK, FOUND, FORBIDDEN = HTTPStatus.OK, HTTPStatus.FOUND, HTTPStatus.FORBIDDEN
NOT_ALLOWED, BAD = HTTPStatus.METHOD_NOT_ALLOWED, HTTPStatus.BAD_REQUEST
NOT_FOUND = HTTPStatus.NOT_FOUND


def public(status: int) -> dict[str, Any]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int) -> dict[str, Any]:
    return {role: LOGIN if role == ANON else status for role in ROLES}


def admins(status: int) -> dict[str, Any]:
    return only({ADMIN}, status, anon=LOGIN)


def project(capability: str, status: int) -> dict[str, Any]:
    return in_project(capability, status, anon=LOGIN)


# POST-only project routes: any signed-in GET is 405 before the project is looked at.
POST_ONLY = signed_in(NOT_ALLOWED)

# URL name -> method -> asker -> status (or LOGIN). POSTs carry an empty form: a 400 or a
# redirect back means the request passed the permission check and was then handled.
PAGES: dict[str, dict[str, dict[str, Any]]] = {
    "home": {"GET": public(OK)},
    "project-page": {"GET": project("view", OK)},
    "annotate": {"GET": project("annotate", OK)},
    "media-file": {"GET": project("annotate", OK)},
    # Researchers (of any project) see the projects whose data they read.
    "datasets": {"GET": only({RESEARCHER, MANAGER, ADMIN, ELSEWHERE}, OK, anon=LOGIN)},
    "datasets-export": {"GET": project("research", FOUND), "POST": project("research", BAD)},
    "manage": {
        "GET": only({REVIEWER, MANAGER, ADMIN}, OK, anon=LOGIN),
        "POST": only({REVIEWER, MANAGER, ADMIN}, BAD, anon=LOGIN),
    },
    "flagged-images": {"GET": admins(OK)},
    # An import job is its project's managers' (the world's has ended: cancel and retry
    # are refused with a message on its page).
    "import-job": {"GET": project("manage", OK)},
    "import-job-cancel-form": {"GET": POST_ONLY, "POST": project("manage", FOUND)},
    "import-job-retry-form": {"GET": POST_ONLY, "POST": project("manage", FOUND)},
    "quality-dashboard": {"GET": project("review", OK), "POST": project("manage", BAD)},
    "annotator-exclusion": {"GET": POST_ONLY, "POST": project("review", FOUND)},
    "make-gold": {"GET": POST_ONLY, "POST": project("manage", FOUND)},
    "schedule-repeats": {"GET": POST_ONLY, "POST": project("manage", FOUND)},
    "prompt-review": {"GET": project("review", OK)},
    "prompt-bulk": {"GET": POST_ONLY, "POST": project("review", FOUND)},
    "prompt-edit": {"GET": POST_ONLY, "POST": project("review", FOUND)},
    "project-members": {"GET": project("manage", OK), "POST": project("manage", BAD)},
    "project-invite": {"GET": project("manage", OK), "POST": project("manage", BAD)},
    "project-invitations-csv": {"GET": project("manage", OK)},
    # An invitation link: the world's is well formed but unknown, for everyone alike.
    "accept-invitation": {"GET": public(NOT_FOUND), "POST": public(NOT_FOUND)},
    "project-audit": {"GET": project("manage", OK)},
    "pay-report": {"GET": project("manage", OK)},
    # How the collection is going, and the figures its page polls.
    "collection-progress": {"GET": project("view", OK)},
    "collection-progress-data": {"GET": project("view", OK)},
    "platform-audit": {"GET": admins(OK)},
    "prompt-annotator-text": {"GET": POST_ONLY, "POST": project("manage", FOUND)},
    "manage-models": {"GET": admins(OK), "POST": admins(BAD)},
    "manage-model-status": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    # The stored benchmark results: platform researchers and admins, as the API's.
    "benchmarks": {"GET": only({RESEARCHER, ADMIN, ELSEWHERE}, OK, anon=LOGIN)},
    # The learning loop: an empty schedule or policy form is refused with 400; starting a
    # cycle, promoting (the world's candidate has no checkpoint file) and rolling back
    # (nothing to go back to) answer with a redirect and a message. The overview, the
    # promotion and the roll-back are the platform's; a project's policy is its managers'.
    "manage-training": {"GET": admins(OK), "POST": admins(BAD)},
    "training-project": {"GET": project("manage", OK), "POST": project("manage", BAD)},
    "training-start": {"GET": POST_ONLY, "POST": project("manage", FOUND)},
    "training-evaluation-set": {"GET": POST_ONLY, "POST": project("manage", FOUND)},
    "training-promote": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    "training-rollback": {"GET": admins(NOT_ALLOWED), "POST": admins(FOUND)},
    # The API's description and its docs page are public, as the API's login is a token.
    "api-schema": {"GET": public(OK)},
    "api-docs": {"GET": public(OK)},
    "healthz": {"GET": public(OK), "POST": public(NOT_ALLOWED)},
    "admin:index": {"GET": only({ADMIN}, OK, anon=FOUND, refused=FOUND)},
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
def test_page_matrix(name: str, method: str, world: World) -> None:
    """Every asker in turn against one world (built once per URL and method)."""
    wrong: list[tuple[str, Any, int]] = []
    for role in ROLES:
        client = world.client(role)
        url = url_of(name, world)
        with opened(world.slug, role):
            response = client.get(url) if method == "GET" else client.post(url, {})
        expected = PAGES[name][method][role]
        if expected == LOGIN:
            if response.status_code != FOUND or not response["Location"].startswith(
                "/accounts/login/?next="
            ):
                wrong.append((role, "login", response.status_code))
        elif response.status_code != expected:
            wrong.append((role, int(expected), response.status_code))
    assert not wrong, f"{method} {name}: (asker, expected, got) {wrong}"
