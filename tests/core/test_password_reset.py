"""Password reset: a clear page without an email server, a reset email with one."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from annotation.models import User
from tests.factories.users import make_user

pytestmark = pytest.mark.django_db


def with_email(user: User) -> User:
    user.email = "ann@example.org"
    user.save(update_fields=["email"])
    return user


def test_without_an_email_server_the_page_says_what_to_do(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = ""
    with_email(make_user("ann"))

    for response in (
        Client().get("/accounts/password_reset/"),
        Client().post("/accounts/password_reset/", {"email": "ann@example.org"}),
    ):
        page = response.content.decode()
        assert response.status_code == HTTPStatus.OK
        assert "This server cannot send email" in page
        assert "manage.py changepassword USERNAME" in page
    assert mail.outbox == []


def test_with_an_email_server_the_link_is_sent(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with_email(make_user("ann"))

    response = Client().post("/accounts/password_reset/", {"email": "ann@example.org"})

    assert response.status_code == HTTPStatus.FOUND
    assert [message.to for message in mail.outbox] == [["ann@example.org"]]
    assert "/accounts/reset/" in mail.outbox[0].body
