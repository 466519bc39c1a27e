"""Creating platform accounts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from annotation.models import Role, User


class AccountError(Exception):
    """The account cannot be created as asked; the message says why and what to do."""


@dataclass(frozen=True)
class NewAccount:
    user: User
    token: str
    password: str
    generated_password: bool


def add_user(username: str, role: str, password: str | None = None) -> NewAccount:
    """Create a user with a role and an API token, in one transaction.

    A password is generated when none is given (and returned once). Raises
    AccountError for an existing username, an unknown role or a weak password.
    """
    if role not in Role.values:
        raise AccountError(f"unknown role {role!r}; use one of {', '.join(Role.values)}")
    if not username or len(username) > 150:
        raise AccountError("the username must be 1 to 150 characters")
    if User.objects.filter(username=username).exists():
        raise AccountError(
            f"user {username!r} already exists; choose another name, or change the existing "
            "account in /admin/"
        )
    generated = password is None
    if password is None:
        password = secrets.token_urlsafe(12)
    candidate = User(username=username, role=role)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise AccountError("the password is too weak: " + " ".join(exc.messages)) from exc
    with transaction.atomic():
        user = User.objects.create_user(
            username=username,
            password=password,
            role=role,
            # Platform admins run the whole site, Django's /admin/ included.
            is_staff=role == Role.ADMIN,
            is_superuser=role == Role.ADMIN,
        )
        token = Token.objects.create(user=user)
    return NewAccount(user=user, token=token.key, password=password, generated_password=generated)
