"""Accounts, made the way the platform makes them (annotation.projects.accounts.add_user)."""

from __future__ import annotations

from annotation.models import Role, User
from annotation.projects.accounts import add_user

PASSWORD = "correct-horse-battery-9"


def make_user(username: str, role: str = Role.ANNOTATOR, password: str = PASSWORD) -> User:
    return add_user(username, role, password=password).user


def annotators(count: int, prefix: str = "ann") -> list[User]:
    """`count` annotators named prefix-0, prefix-1, ..."""
    return [make_user(f"{prefix}-{i}") for i in range(count)]
