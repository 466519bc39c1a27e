"""docs/roles.md shows the permission tables the tests check: the table between its
markers is rendered from PAGES (tests/test_page_permissions.py) and MATRIX
(tests/annotation/test_api_permissions.py), so the docs cannot drift from what is
enforced. With UPDATE_ROLES_DOC=1 the test rewrites the table instead of failing."""

from __future__ import annotations

import os
from pathlib import Path

from tests.annotation.test_api_permissions import MATRIX
from tests.permission_tables import render_table
from tests.test_page_permissions import PAGES

DOC = Path(__file__).resolve().parent.parent / "docs" / "roles.md"
BEGIN = "<!-- permission table: begin (generated from the tests' tables) -->\n"
END = "<!-- permission table: end -->"


def test_the_roles_doc_shows_the_tables_the_tests_check() -> None:
    text = DOC.read_text()
    assert BEGIN in text and END in text, f"{DOC} lost its table markers"
    head, rest = text.split(BEGIN, 1)
    shown, tail = rest.split(END, 1)
    wanted = render_table([("", PAGES), ("api: ", MATRIX)])
    if os.environ.get("UPDATE_ROLES_DOC") == "1":
        DOC.write_text(head + BEGIN + wanted + END + tail)
        return
    assert shown == wanted, (
        "docs/roles.md's permission table differs from the tests' tables; rerun this test "
        "with UPDATE_ROLES_DOC=1 to rewrite it, and review the change"
    )
