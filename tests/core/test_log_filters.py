"""A refused request (403) is logged as one line; a server error keeps its traceback."""

from __future__ import annotations

import logging
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse

from annotation.models import User


@pytest.mark.django_db
def test_a_403_is_logged_as_one_line_without_a_traceback(
    annotator_user: User, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    client.force_login(annotator_user)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("manage"))

    assert response.status_code == HTTPStatus.FORBIDDEN
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.getMessage().startswith("Forbidden")
    assert record.exc_info is None
    assert "Traceback" not in caplog.text
    assert [line for line in caplog.text.splitlines() if "django.request" in line] == [
        line for line in caplog.text.strip().splitlines()
    ]


def test_a_server_error_record_keeps_its_traceback() -> None:
    from core.log_filters import ClientErrorsWithoutTraceback

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error",
            (),
            sys.exc_info(),
        )
    record.status_code = 500
    assert ClientErrorsWithoutTraceback().filter(record) and record.exc_info is not None
