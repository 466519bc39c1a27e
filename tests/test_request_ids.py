"""Request ids: taken from X-Request-ID or made, returned, and in every log record."""

from __future__ import annotations

import logging
import re
import uuid

import pytest
from django.test import Client

from annotation.request_ids import RequestIdFilter, accepted_or_new, current_request_id


def test_a_request_gets_a_new_id_on_its_response(db: None) -> None:
    first = Client().get("/accounts/login/")
    second = Client().get("/accounts/login/")
    assert re.fullmatch(r"[0-9a-f]{32}", first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_the_proxy_id_is_kept_and_in_the_log_lines(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = Client().get("/no-such-page/", headers={"X-Request-ID": "lb-7f3a.1"})
    assert response["X-Request-ID"] == "lb-7f3a.1"
    records = [r for r in caplog.records if r.name == "django.request"]
    assert records and all(r.request_id == "lb-7f3a.1" for r in records)  # type: ignore[attr-defined]
    assert current_request_id() == "-"  # nothing leaks past the request


@pytest.mark.parametrize("forged", ["a b", "x\nINFO fake line", "", "z" * 129, "é"])
def test_a_forged_or_odd_id_is_replaced(forged: str) -> None:
    replaced = accepted_or_new(forged)
    assert replaced != forged and uuid.UUID(hex=replaced)


def test_records_outside_a_request_say_so() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "message", None, None)
    assert RequestIdFilter().filter(record) and record.request_id == "-"  # type: ignore[attr-defined]
