"""Accounts, made the way the platform makes them (annotation.projects.accounts.add_user)."""

from __future__ import annotations

from annotation.models import Membership, Project, ProjectRole, Role, User
from annotation.projects import add_member
from annotation.projects.accounts import add_user

PASSWORD = "correct-horse-battery-9"


def make_user(username: str, role: str = Role.ANNOTATOR, password: str = PASSWORD) -> User:
    return add_user(username, role, password=password).user


def annotators(count: int, prefix: str = "ann") -> list[User]:
    """`count` annotators named prefix-0, prefix-1, ..."""
    return [make_user(f"{prefix}-{i}") for i in range(count)]


def member_of(project: Project, user: User, role: str = ProjectRole.ANNOTATOR) -> User:
    """`user` as a member of `project` (added in `role` unless already a member, whatever
    their role), through annotation.projects.add_member."""
    if not Membership.objects.filter(project=project, user=user).exists():
        add_member(project, user, role)
    return user
