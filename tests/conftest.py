"""Fixtures shared by the whole suite. The database is the real PostgreSQL `make test` runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.models import Role, User

# The browser fixtures live once for the whole suite: a session-scoped Playwright imported
# into two test modules would start twice, and the second start fails.
from tests.browser_support import browser, page_for  # noqa: F401
from tests.factories.users import make_user


@pytest.fixture(autouse=True)
def media_root(tmp_path: Path, settings: Any) -> Path:
    """Every test gets its own empty MEDIA_ROOT."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.IMPORT_UPLOAD_ROOT = tmp_path / "uploads"  # uploads waiting for their import
    return root


@pytest.fixture
def admin_user(db: None) -> User:
    return make_user("ada-admin", Role.ADMIN)


@pytest.fixture
def annotator_user(db: None) -> User:
    return make_user("ann-annotator", Role.ANNOTATOR)


@pytest.fixture
def researcher_user(db: None) -> User:
    return make_user("rex-researcher", Role.RESEARCHER)


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
