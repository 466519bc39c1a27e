"""Fixtures shared by the whole suite. The database is the real PostgreSQL `make test` runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from annotation.models import Role, User
from annotation.projects.accounts import add_user


@pytest.fixture(autouse=True)
def media_root(tmp_path: Path, settings: Any) -> Path:
    """Every test gets its own empty MEDIA_ROOT."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


def _account(username: str, role: str) -> User:
    return add_user(username, role, password="correct-horse-battery-9").user


@pytest.fixture
def admin_user(db: None) -> User:
    return _account("ada-admin", Role.ADMIN)


@pytest.fixture
def annotator_user(db: None) -> User:
    return _account("ann-annotator", Role.ANNOTATOR)


@pytest.fixture
def researcher_user(db: None) -> User:
    return _account("rex-researcher", Role.RESEARCHER)


def client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client
