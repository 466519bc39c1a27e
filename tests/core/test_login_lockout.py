"""Login lockout (django-axes, database handler): after LOGIN_FAILURE_LIMIT wrong passwords
an account is refused from that address, with a clear page, until the cool-off ends."""

from __future__ import annotations

import time
from datetime import timedelta
from http import HTTPStatus
from typing import Any

from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client

from annotation.models import User

PASSWORD = "correct-horse-battery-9"  # tests/conftest.py's accounts


def attempt(client: Client, username: str, password: str, url: str = "/accounts/login/") -> Any:
    return client.post(url, {"username": username, "password": password})


def test_ten_failures_lock_the_account_even_for_the_right_password(
    annotator_user: User, settings: Any
) -> None:
    assert settings.AXES_FAILURE_LIMIT == 10
    client = Client()
    for n in range(9):
        response = attempt(client, annotator_user.username, f"wrong-{n}")
        assert response.status_code == HTTPStatus.OK
        assert b"did not match" in response.content

    response = attempt(client, annotator_user.username, "wrong-9")  # the tenth failure
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    response = attempt(client, annotator_user.username, PASSWORD)
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    page = response.content.decode()
    assert "Too many failed logins" in page and "after 10 wrong passwords" in page
    assert "Try again in" in page and "ask an admin to unlock it" in page
    assert SESSION_KEY not in client.session
    # Attempts made while locked count too (and restart the cool-off).
    assert AccessAttempt.objects.get(username=annotator_user.username).failures_since_start == 11
    # Django's admin login shares the counter.
    admin_page = attempt(Client(), annotator_user.username, PASSWORD, "/admin/login/")
    assert admin_page.status_code == HTTPStatus.TOO_MANY_REQUESTS
    # Other accounts are unaffected.
    other = User.objects.create_user("other-user", password=PASSWORD)
    assert attempt(Client(), other.username, PASSWORD).status_code == HTTPStatus.FOUND


def test_the_lock_ends_after_the_cool_off(annotator_user: User, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    client = Client()
    attempt(client, annotator_user.username, "wrong")
    attempt(client, annotator_user.username, "wrong")
    assert attempt(client, annotator_user.username, PASSWORD).status_code == 429
    time.sleep(1.2)
    response = attempt(client, annotator_user.username, PASSWORD)
    assert response.status_code == HTTPStatus.FOUND
    assert client.session[SESSION_KEY] == str(annotator_user.pk)


def test_a_successful_login_resets_the_count(annotator_user: User, settings: Any) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    for _ in range(2):
        attempt(client, annotator_user.username, "wrong")
    assert attempt(client, annotator_user.username, PASSWORD).status_code == HTTPStatus.FOUND
    assert not AccessAttempt.objects.filter(username=annotator_user.username).exists()
    for _ in range(2):
        assert attempt(Client(), annotator_user.username, "wrong").status_code == HTTPStatus.OK


def test_a_spoofed_forwarded_for_header_does_not_reset_the_count(
    annotator_user: User, settings: Any
) -> None:
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        attempt(Client(HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"), annotator_user.username, "wrong")
    response = attempt(
        Client(HTTP_X_FORWARDED_FOR="203.0.113.99"), annotator_user.username, PASSWORD
    )
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
