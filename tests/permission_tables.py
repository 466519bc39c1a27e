"""The building blocks of the permission tables (tests/test_page_permissions.py for pages,
tests/annotation/test_api_permissions.py for /api/v1/): who may do what in the world's
project, written out here independently of the code that enforces it
(annotation/models/membership.py), and the table of docs/roles.md rendered from them."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from tests.site_world import (
    ADMIN,
    ANNOTATOR,
    ANON,
    ELSEWHERE,
    MANAGER,
    OPEN,
    OUTSIDER,
    RESEARCHER,
    REVIEWER,
    ROLES,
)

NOT_FOUND, FORBIDDEN = HTTPStatus.NOT_FOUND, HTTPStatus.FORBIDDEN
LOGIN = "login"  # a 302 to the login page, with ?next= back to the URL

# What each asker may do in the world's closed project (OPEN: while it is open).
CAN: dict[str, set[str]] = {
    ANON: set(),
    OUTSIDER: set(),
    ELSEWHERE: set(),
    OPEN: {"annotate"},
    ANNOTATOR: {"annotate"},
    REVIEWER: {"annotate", "view", "review"},
    RESEARCHER: {"annotate", "view", "research"},
    MANAGER: {"annotate", "view", "review", "research", "manage"},
    ADMIN: {"annotate", "view", "review", "research", "manage"},
}


def in_project(capability: str, status: int, *, anon: Any) -> dict[str, Any]:
    """A project route needing `capability`: `status` for those who have it, 403 for
    members (or openers) without it, 404 for whoever may not see the project at all."""
    row: dict[str, Any] = {}
    for role in ROLES:
        if role == ANON:
            row[role] = anon
        elif capability in CAN[role]:
            row[role] = status
        elif CAN[role]:
            row[role] = FORBIDDEN
        else:
            row[role] = NOT_FOUND
    return row


def only(allowed: set[str], status: int, *, anon: Any, refused: int = FORBIDDEN) -> dict[str, Any]:
    """A platform route (no project in it): `status` for the roles in `allowed`."""
    return {
        role: anon if role == ANON else status if role in allowed else refused for role in ROLES
    }


# Short names of the statuses in the docs' table.
SYMBOLS = {200: "yes", 201: "yes", 202: "yes", 204: "yes", 302: "302", 400: "yes", 409: "yes"}


def cell(status: Any) -> str:
    if status == LOGIN:
        return "log in"
    if status == HTTPStatus.UNAUTHORIZED:
        return "401"
    if status == NOT_FOUND:
        return "404"
    if status == FORBIDDEN:
        return "403"
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        return "405"
    return SYMBOLS.get(int(status), str(int(status)))


def render_table(tables: list[tuple[str, dict[str, dict[str, dict[str, Any]]]]]) -> str:
    """The markdown table of docs/roles.md: one row per URL name and method."""
    head = "| route | method | " + " | ".join(ROLES) + " |"
    rule = "|---|---|" + "---|" * len(ROLES)
    lines = [head, rule]
    for prefix, table in tables:
        for name, methods in sorted(table.items()):
            for method, statuses in methods.items():
                cells = " | ".join(cell(statuses[role]) for role in ROLES)
                lines.append(f"| {prefix}`{name}` | {method} | {cells} |")
    return "\n".join(lines) + "\n"
