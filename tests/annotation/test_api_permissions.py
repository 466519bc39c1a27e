"""Every /api/v1/ endpoint, every role: the status each gets (a table, and a test that
fails when an endpoint has no row)."""

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
from annotation.models import Role, User
from annotation.projects.accounts import add_user
from scoring.api import urls as scoring_api_urls
from tests.factories.projects import judged_project
from tests.factories.tasks import make_tasks

# Everything under /api/v1/.
API_PATTERNS = [*api_urls.urlpatterns, *scoring_api_urls.urlpatterns]

ANON, ANNOTATOR, RESEARCHER, ADMIN = "anonymous", "annotator", "researcher", "admin"
OK, CREATED, ACCEPTED = HTTPStatus.OK, HTTPStatus.CREATED, HTTPStatus.ACCEPTED
BAD, UNAUTH, FORBIDDEN = HTTPStatus.BAD_REQUEST, HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN


def everyone(status: int) -> dict[str, int]:
    return {ANON: UNAUTH, ANNOTATOR: status, RESEARCHER: status, ADMIN: status}


def readers(status: int) -> dict[str, int]:
    return {ANON: UNAUTH, ANNOTATOR: FORBIDDEN, RESEARCHER: status, ADMIN: status}


def assignee_only(status: int) -> dict[str, int]:
    """The world's assignment is leased to the annotator; everyone else is refused."""
    return {ANON: UNAUTH, ANNOTATOR: status, RESEARCHER: FORBIDDEN, ADMIN: FORBIDDEN}


# URL name -> method -> role -> status. POST bodies are below; a 400 means the request
# passed the permission check and was then refused for its body.
MATRIX: dict[str, dict[str, dict[str, int]]] = {
    "project-list": {"GET": everyone(OK)},
    "project-detail": {"GET": everyone(OK)},
    "project-batches": {
        "GET": readers(OK),
        "POST": {ANON: UNAUTH, ANNOTATOR: FORBIDDEN, RESEARCHER: FORBIDDEN, ADMIN: BAD},
    },
    "project-exports": {"GET": readers(OK), "POST": readers(ACCEPTED)},
    "project-leaderboard": {"GET": readers(OK)},
    "export-detail": {"GET": readers(OK)},
    "export-download": {"GET": readers(OK)},
    "project-agreement": {"GET": readers(OK)},
    # Any signed-in account may annotate; an assignment answers only its assignee.
    "next": {"GET": everyone(OK)},
    "assignment-submit": {"POST": assignee_only(BAD)},
    "assignment-skip": {"POST": assignee_only(OK)},
    "model-version-list": {"GET": readers(OK)},
    "score-images": {"POST": readers(BAD)},  # no prompt, no images
}
BODIES: dict[str, dict[str, Any]] = {
    "project-exports": {"split": "train"},
    # Well formed, but not a permutation of the task's images: the assignee gets 400.
    "assignment-submit": {"ranking": [1, 2], "duration_ms": 900, "flags": []},
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
            assert set(statuses) == {ANON, ANNOTATOR, RESEARCHER, ADMIN}, (name, method)
    assert get_resolver().resolve(reverse("project-list")).url_name == "project-list"


@pytest.fixture
def world(tmp_path: Path, settings: Any, db: None) -> dict[str, Any]:
    settings.EXPORT_ROOT = tmp_path / "exports"
    judged = judged_project(tmp_path / "in", "matrix", train_groups=1, test_groups=1, annotators=1)
    snapshot = create_export(judged.project, {}, enqueue=False)
    export_snapshot(snapshot.pk)
    users = {
        role: add_user(f"matrix-{role}", role, password="correct-horse-battery-9").user
        for role in (Role.ANNOTATOR, Role.RESEARCHER, Role.ADMIN)
    }
    make_tasks(judged.project, 2, images=4, wanted=2)
    lease = next_assignment(judged.project, users[Role.ANNOTATOR])
    assert lease is not None
    return {
        "slug": judged.project.slug,
        "pk": snapshot.pk,
        "assignment": lease.assignment.pk,
        "users": users,
    }


def url_for(name: str, world: dict[str, Any]) -> str:
    pattern = next(p for p in API_PATTERNS if getattr(p, "name", None) == name)
    keys = pattern.pattern.regex.groupindex
    pk = world["assignment"] if name.startswith("assignment-") else world["pk"]
    kwargs = {key: world["slug"] if key == "slug" else pk for key in keys}
    return reverse(name, kwargs=kwargs)


@pytest.mark.parametrize(
    ("name", "method"), [(name, method) for name, rows in MATRIX.items() for method in rows]
)
@pytest.mark.parametrize("role", [ANON, ANNOTATOR, RESEARCHER, ADMIN])
def test_permission_matrix(name: str, method: str, role: str, world: dict[str, Any]) -> None:
    client = APIClient()
    if role != ANON:
        user: User = world["users"][role]
        client.credentials(HTTP_AUTHORIZATION=f"Token {user.auth_token.key}")
    url = url_for(name, world)
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(
            url,
            BODIES.get(name, {}),
            format=FORMATS.get(name, "json"),
            headers=HEADERS.get(name, {}),
        )
    expected = MATRIX[name][method][role]
    assert response.status_code == expected, (name, method, role, getattr(response, "data", ""))
