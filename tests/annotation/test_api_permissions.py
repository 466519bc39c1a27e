"""Every /api/v1/ endpoint, every asker: the status each gets (a table, and a test that
fails when an endpoint has no row). The askers are those of the page table
(tests/site_world.py): members of the world's closed project in each project role, a
non-member annotator (and the same while the project is open), a researcher of another
project, an admin, and no token at all."""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from annotation.api import urls as api_urls
from annotation.export import create_export, export_snapshot
from annotation.judging.assignment import next_assignment
from annotation.models import User
from scoring.api import urls as scoring_api_urls
from tests.factories.projects import judged_project
from tests.factories.tasks import make_tasks
from tests.permission_tables import NOT_FOUND, in_project, only
from tests.site_world import (
    ADMIN,
    ANNOTATOR,
    ANON,
    ELSEWHERE,
    OUTSIDER,
    RESEARCHER,
    ROLES,
    finished_import,
    opened,
    role_users,
)

# Everything under /api/v1/.
API_PATTERNS = [*api_urls.urlpatterns, *scoring_api_urls.urlpatterns]

OK, CREATED, ACCEPTED = HTTPStatus.OK, HTTPStatus.CREATED, HTTPStatus.ACCEPTED
BAD, UNAUTH, FORBIDDEN = HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN
CONFLICT = HTTPStatus.CONFLICT


def everyone(status: int) -> dict[str, Any]:
    return {role: UNAUTH if role == ANON else status for role in ROLES}


def project(capability: str, status: int) -> dict[str, Any]:
    return in_project(capability, status, anon=UNAUTH)


def platform_readers(status: int) -> dict[str, Any]:
    """The model registry and scoring uploads belong to no project: platform researchers
    and admins."""
    return only({RESEARCHER, ELSEWHERE, ADMIN}, status, anon=UNAUTH)


def assignee_only(status: int) -> dict[str, Any]:
    """The world's assignment is leased to the annotator; anyone else who may see the
    project is refused (403), anyone who may not gets 404."""
    row: dict[str, Any] = {role: FORBIDDEN for role in ROLES}
    row.update({ANON: UNAUTH, ANNOTATOR: status, OUTSIDER: NOT_FOUND, ELSEWHERE: NOT_FOUND})
    return row


# URL name -> method -> asker -> status. POST bodies are below; a 400 means the request
# passed the permission check and was then refused for its body.
MATRIX: dict[str, dict[str, dict[str, Any]]] = {
    "project-list": {"GET": everyone(OK)},  # each sees the projects they may see
    "project-detail": {"GET": project("annotate", OK)},
    "project-batches": {"GET": project("view", OK), "POST": project("manage", BAD)},
    "project-exports": {"GET": project("research", OK), "POST": project("research", ACCEPTED)},
    "project-leaderboard": {"GET": project("research", OK)},
    "export-detail": {"GET": project("research", OK)},
    # The world's import has ended: its managers' cancel and retry are refused (409).
    "import-job-detail": {"GET": project("manage", OK)},
    "import-job-cancel": {"POST": project("manage", CONFLICT)},
    "import-job-retry": {"POST": project("manage", CONFLICT)},
    "export-download": {"GET": project("research", OK)},
    "project-agreement": {"GET": project("research", OK)},
    "project-members-api": {"GET": project("manage", OK), "POST": project("manage", OK)},
    "project-member-api": {"DELETE": project("manage", OK)},
    "project-pay-api": {"GET": project("manage", OK)},
    # Members annotate (and anyone while the project is open); an assignment answers
    # only its assignee.
    "next": {"GET": project("annotate", OK)},
    "assignment-submit": {"POST": assignee_only(BAD)},
    "assignment-skip": {"POST": assignee_only(OK)},
    # Nobody in the world has a judgment of their own to take back: 409 once past the
    # permission check.
    "undo": {"POST": project("annotate", HTTPStatus.CONFLICT)},
    "model-version-list": {"GET": platform_readers(OK)},
    "score-images": {"POST": platform_readers(BAD)},  # no prompt, no images
    # The world holds no score or benchmark job: who may follow one gets 404 for its id.
    "score-job-detail": {"GET": platform_readers(NOT_FOUND)},
    "benchmark-list": {"GET": platform_readers(OK), "POST": platform_readers(BAD)},  # no folders
    "benchmark-job-detail": {"GET": platform_readers(NOT_FOUND)},
}
BODIES: dict[str, dict[str, Any]] = {
    # min_annotators is set per asker below: an identical request would reuse the first
    # asker's snapshot (200) instead of starting one (202).
    "project-exports": {"split": "train"},
    # Well formed, but not a permutation of the task's images: the assignee gets 400.
    "assignment-submit": {"ranking": [1, 2], "duration_ms": 900, "flags": []},
    # Already a member in that role: 200, nothing changes.
    "project-members-api": {"username": "matrix-target", "role": "annotator"},
}
HEADERS: dict[str, dict[str, str]] = {"assignment-submit": {"Idempotency-Key": "matrix-1"}}
FORMATS = {"project-batches": "multipart"}


def api_url_names() -> set[str]:
    names: set[str] = set()

    def walk(patterns: list[Any]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(pattern.name)

    walk(API_PATTERNS)
    return names


def test_every_api_endpoint_has_a_row_in_the_matrix() -> None:
    missing = api_url_names() - set(MATRIX)
    assert not missing, f"add these URL names to MATRIX with a status per role: {missing}"
    stale = set(MATRIX) - api_url_names()
    assert not stale, f"MATRIX names URLs that no longer exist: {stale}"
    for name in api_url_names():
        for method, statuses in MATRIX[name].items():
            assert set(statuses) == set(ROLES), (name, method)
    assert get_resolver().resolve(reverse("project-list")).url_name == "project-list"


@pytest.fixture
def world(tmp_path: Path, settings: Any, db: None) -> dict[str, Any]:
    settings.EXPORT_ROOT = tmp_path / "exports"
    judged = judged_project(tmp_path / "in", "matrix", train_groups=1, test_groups=1, annotators=1)
    snapshot = create_export(judged.project, {}, enqueue=False)
    export_snapshot(snapshot.pk)
    users = role_users(judged.project, "matrix")
    make_tasks(judged.project, 4, images=4, wanted=2)  # a lease for every asker who may
    lease = next_assignment(judged.project, users[ANNOTATOR])
    assert lease is not None
    return {
        "slug": judged.project.slug,
        "pk": snapshot.pk,
        "import": finished_import(judged.project).pk,
        "assignment": lease.assignment.pk,
        "users": users,
    }


def url_for(name: str, world: dict[str, Any]) -> str:
    pattern = next(p for p in API_PATTERNS if getattr(p, "name", None) == name)
    keys = pattern.pattern.regex.groupindex
    pk = world["assignment"] if name.startswith("assignment-") else world["pk"]
    if name.startswith("import-job"):
        pk = world["import"]
    values = {"slug": world["slug"], "username": "matrix-target"}
    kwargs = {key: values.get(key, pk) for key in keys}
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize(
    ("name", "method"), [(name, method) for name, rows in MATRIX.items() for method in rows]
)
def test_permission_matrix(name: str, method: str, world: dict[str, Any]) -> None:
    """Every asker in turn against one world (built once per endpoint and method)."""
    wrong = []
    for role in ROLES:
        client = APIClient()
        if role != ANON:
            user: User = world["users"][role]
            client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
        url = url_for(name, world)
        with opened(world["slug"], role):
            if method == "GET":
                response = client.get(url)
            elif method == "DELETE":
                response = client.delete(url)
            else:
                body = BODIES.get(name, {})
                if name == "project-exports":
                    body = {**body, "min_annotators": ROLES.index(role) + 1}
                response = client.post(
                    url,
                    body,
                    format=FORMATS.get(name, "json"),
                    headers=HEADERS.get(name, {}),
                )
        expected = MATRIX[name][method][role]
        if response.status_code != expected:
            wrong.append((role, int(expected), response.status_code, getattr(response, "data", "")))
    assert not wrong, f"{method} {name}: (asker, expected, got, body) {wrong}"
