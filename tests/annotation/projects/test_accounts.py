"""add_user: roles, tokens, and the errors a user can trigger."""

from __future__ import annotations

import io
from http import HTTPStatus

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation.models import Role, User

pytestmark = pytest.mark.django_db


def test_add_user_prints_the_token_last_and_the_token_authenticates() -> None:
    out = io.StringIO()

    call_command(
        "add_user", "alice", "--role", "researcher", "--password", "s3cret-Pass-word", stdout=out
    )

    lines = out.getvalue().strip().splitlines()
    user = User.objects.get(username="alice")
    assert (user.role, user.is_staff, user.is_superuser) == (Role.RESEARCHER, False, False)
    assert user.check_password("s3cret-Pass-word")
    assert lines[-1] == Token.objects.get(user=user).key
    assert not any(line.startswith("password:") for line in lines)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {lines[-1]}")
    assert client.get(reverse("project-list")).status_code == HTTPStatus.OK


def test_add_user_without_password_generates_and_prints_one() -> None:
    out = io.StringIO()

    call_command("add_user", "bob", "--role", "admin", stdout=out)

    lines = out.getvalue().strip().splitlines()
    password = next(line.split(": ", 1)[1] for line in lines if line.startswith("password: "))
    user = User.objects.get(username="bob")
    assert user.check_password(password)
    assert (user.role, user.is_staff, user.is_superuser) == (Role.ADMIN, True, True)
    assert user.is_platform_admin
    admin_site = Client()
    admin_site.force_login(user)
    assert admin_site.get("/admin/annotation/batch/").status_code == HTTPStatus.OK


def test_add_user_refuses_an_existing_name_and_changes_nothing() -> None:
    call_command("add_user", "carol", "--role", "annotator", stdout=io.StringIO())
    token = Token.objects.get(user__username="carol").key

    with pytest.raises(CommandError, match="already exists"):
        call_command("add_user", "carol", "--role", "admin", stdout=io.StringIO())

    assert User.objects.get(username="carol").role == Role.ANNOTATOR
    assert Token.objects.get(user__username="carol").key == token


def test_add_user_refuses_a_weak_password_and_creates_nothing() -> None:
    with pytest.raises(CommandError, match="too weak"):
        call_command(
            "add_user", "dave", "--role", "annotator", "--password", "123", stdout=io.StringIO()
        )

    assert not User.objects.filter(username="dave").exists()


def test_add_user_refuses_an_unknown_role() -> None:
    with pytest.raises(CommandError, match="invalid choice: 'boss'"):
        call_command("add_user", "erin", "--role", "boss")

    assert not User.objects.filter(username="erin").exists()


def test_annotators_and_researchers_cannot_open_django_admin() -> None:
    for name, role in (("ann", "annotator"), ("res", "researcher")):
        call_command("add_user", name, "--role", role, stdout=io.StringIO())
        client = Client()
        client.force_login(User.objects.get(username=name))
        response = client.get("/admin/annotation/batch/")
        assert response.status_code == HTTPStatus.FOUND
        assert response["Location"].startswith("/admin/login/")
