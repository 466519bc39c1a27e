"""GET /healthz against the real PostgreSQL and Redis, and a real Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.db.backends.postgresql.base import DatabaseWrapper
from django.test import Client

from core.health import DEGRADED, DOWN, OK, Check, Health, check_database
from scripts.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
WORKER = [
    sys.executable,
    "-m",
    "celery",
    "-A",
    "config.celery_app",
    "worker",
    "--pool",
    "solo",
    "-l",
    "INFO",
]


def test_healthy_dependencies_without_a_worker_is_degraded_not_down(db: None) -> None:
    response = Client().get("/healthz")

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["status"] == DEGRADED
    assert body["checks"]["database"]["status"] == OK
    assert body["checks"]["redis"]["status"] == OK
    assert body["checks"]["workers"]["status"] == DEGRADED
    assert "no Celery worker answered" in body["checks"]["workers"]["detail"]
    assert response["Cache-Control"].startswith("max-age=0")


def test_redis_down_answers_503_naming_it(db: None, settings: Any) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there

    response = Client().get("/healthz")

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = response.json()
    assert body["status"] == DOWN
    assert body["checks"]["redis"]["status"] == DOWN
    assert "Redis unreachable" in body["checks"]["redis"]["detail"]
    assert body["checks"]["database"]["status"] == OK
    assert body["checks"]["workers"]["detail"] == "not pinged: Redis (the broker) is down"


def test_an_unreachable_database_is_down() -> None:
    config = {**django_settings.DATABASES["default"], "HOST": "127.0.0.1", "PORT": free_port()}
    config["OPTIONS"] = {**config.get("OPTIONS", {}), "connect_timeout": 1}
    unreachable = DatabaseWrapper(config, alias="unreachable")

    check = check_database(unreachable)

    assert check.status == DOWN and "database unreachable" in check.detail


def test_a_database_down_makes_the_whole_platform_down() -> None:
    health = Health(
        {
            "database": Check(DOWN, "x", 1.0),
            "redis": Check(OK, "x", 1.0),
            "workers": Check(OK, "x", 1.0),
        }
    )
    assert health.status == DOWN
    assert Health({"database": Check(OK, "", 0), "workers": Check(DEGRADED, "", 0)}).status == (
        DEGRADED
    )


@pytest.fixture
def worker_with_log(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A real Celery worker on the test Redis and database, and the file it logs to."""
    # The worker uses the test database (its tables; the test's rows stay uncommitted).
    url = urlsplit(os.environ["DATABASE_URL"])
    test_database = url._replace(path="/" + connection.settings_dict["NAME"]).geturl()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    env["DATABASE_URL"] = test_database
    log_path = tmp_path / "worker.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [*WORKER, "--hostname", "health-probe@%h", "--without-mingle", "--without-gossip"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process, log_path
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_a_running_worker_makes_it_ok(
    db: None, worker_with_log: tuple[subprocess.Popen[bytes], Path]
) -> None:
    worker = worker_with_log[0]
    deadline = time.monotonic() + 60
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the Celery worker exited"
        body = Client().get("/healthz").json()
        if body["checks"]["workers"]["status"] == OK:
            break
        time.sleep(1)
    assert body["status"] == OK, body
    assert "health-probe@" in body["checks"]["workers"]["detail"]


def test_the_public_answer_does_not_leak_addresses(db: None, settings: Any) -> None:
    port = free_port()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    body = Client().get("/healthz").content.decode()
    assert str(port) not in body and "127.0.0.1" not in body
