"""Request ids: taken from X-Request-ID or made, returned, and in every log record."""

from __future__ import annotations

import contextvars
import logging
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.test import Client

from core.request_ids import RequestIdFilter, accepted_or_new, current_request_id
from tests.core.test_health import worker_with_log  # noqa: F401 - a fixture


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
    # A fresh context is "outside any request" whatever earlier tests' clients left behind
    # (a WSGI client that never closes its response never sends request_finished).
    kept = contextvars.Context().run(RequestIdFilter().filter, record)
    assert kept and record.request_id == "-"  # type: ignore[attr-defined]


def test_a_task_runs_under_the_request_id_that_enqueued_it(db: None) -> None:
    from celery.signals import task_prerun

    from annotation.tasks import expire_leases
    from core.request_ids import _current, _send_request_id

    seen: list[str] = []

    def record(**kwargs: object) -> None:
        seen.append(current_request_id())

    # What before_task_publish adds to a task's headers inside a request...
    token = _current.set("req-from-web")
    headers: dict[str, object] = {}
    _send_request_id(headers=headers)
    _current.reset(token)
    assert headers == {"request_id": "req-from-web"}
    # ...is the id the task's log lines carry; a task sent outside a request uses its own id.
    task_prerun.connect(record, weak=False)
    try:
        expire_leases.apply(headers=headers)
        expire_leases.apply(task_id="beat-task-1")
    finally:
        task_prerun.disconnect(record)
    assert seen == ["req-from-web", "beat-task-1"]
    assert current_request_id() == "-"


def test_a_real_worker_logs_the_request_id_of_the_request_that_enqueued(
    db: None,
    worker_with_log: tuple[subprocess.Popen[bytes], Path],  # noqa: F811
) -> None:
    from annotation.tasks import expire_leases
    from core.request_ids import _current

    process, log = worker_with_log
    token = _current.set("req-to-worker-7")
    try:
        expire_leases.delay()
    finally:
        _current.reset(token)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "[req-to-worker-7]" not in log.read_text():
        assert process.poll() is None, log.read_text()
        time.sleep(0.5)
    lines = [line for line in log.read_text().splitlines() if "[req-to-worker-7]" in line]
    assert any("expire_leases" in line and "succeeded" in line for line in lines), log.read_text()[
        -3000:
    ]


def test_gunicorn_access_lines_carry_the_request_id() -> None:
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "--print-config",
            "config.wsgi:application",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("access_log_format"))
    assert "request_id=%({x-request-id}o)s" in line
