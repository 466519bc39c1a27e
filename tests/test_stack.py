"""The embedded services and process handling behind `make run` / `make test`.

These start real servers in temporary folders; none of them touches Django's database.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis
from environ import Env

from scripts import stack

REPO_ROOT = Path(__file__).resolve().parent.parent


def _connection_refused(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def test_redis_starts_on_a_free_loopback_port_and_stops(tmp_path: Path) -> None:
    server = stack.start_redis(tmp_path / "redis", persist=False)
    try:
        assert server.port != stack.REDIS_DEFAULT_PORT
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        client = redis.Redis.from_url(server.url)
        assert client.ping() is True
        client.set("stack-test", "1")
        assert client.get("stack-test") == b"1"
        client.close()
    finally:
        server.stop()

    assert server.child.process.returncode is not None
    assert _connection_refused("127.0.0.1", server.port)
    assert (tmp_path / "redis" / "redis.log").stat().st_size > 0


def test_redis_keeps_a_snapshot_only_when_asked_to(tmp_path: Path) -> None:
    server = stack.start_redis(tmp_path, persist=True)
    redis.Redis.from_url(server.url).set("kept", "yes")
    server.stop()
    # Redis writes its snapshot on SIGTERM when it is configured to keep them.
    assert (tmp_path / "dump.rdb").exists()


@pytest.fixture
def pg_parent() -> Iterator[Path]:
    """A fresh folder for a PostgreSQL data directory, removed afterwards.

    Not pytest's tmp_path: as root, the server runs as another user that must traverse the
    folder, and every pytest session that starts resets pytest's temporary root to mode 0700.
    """
    folder = Path(tempfile.mkdtemp(prefix="hpd-pg-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_embedded_postgres_serves_the_database_url_settings_read(pg_parent: Path) -> None:
    pgdata = pg_parent / "pg"
    postgres = stack.start_postgres(pgdata)
    try:
        assert stack.ensure_database(postgres.uri(), "hpd") is True
        assert stack.ensure_database(postgres.uri(), "hpd") is False

        url = postgres.database_url("hpd")
        assert url == f"postgres://postgres@/hpd?host={postgres.socket_dir}"
        parsed = Env.db_url_config(url)
        assert parsed["ENGINE"] == "django.db.backends.postgresql"
        # The socket folder travels in OPTIONS, which Django hands to psycopg2 as is.
        assert (parsed["NAME"], parsed["USER"]) == ("hpd", "postgres")
        assert parsed["OPTIONS"] == {"host": postgres.socket_dir}

        connection = psycopg2.connect(url)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1, current_database(), current_setting('server_version')")
                one, database, version = cursor.fetchone()
        finally:
            connection.close()
        assert (one, database) == (1, "hpd")
        assert version.startswith("18.")
        # Unix socket only: the server must not be reachable over TCP.
        assert postgres.uri().startswith("postgresql://postgres:@/postgres?host=")
    finally:
        postgres.stop()

    assert not (pgdata / "postmaster.pid").exists()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(url, connect_timeout=2)


def test_stop_children_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    stubborn = stack.start_child(
        "stubborn",
        [
            sys.executable,
            "-c",
            "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "pathlib.Path(sys.argv[1]).touch(); time.sleep(60)",
            str(ready),
        ],
    )
    deadline = time.monotonic() + 10
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert ready.exists()

    started = time.monotonic()
    stack.stop_children([stubborn], timeout=0.5)
    assert time.monotonic() - started < 5
    assert stubborn.process.returncode == -signal.SIGKILL


def test_a_child_runs_in_its_own_session_and_is_reported_when_it_exits() -> None:
    quick = stack.start_child("quick", [sys.executable, "-c", "import sys; sys.exit(3)"])
    idle = stack.start_child("idle", [sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert os.getsid(idle.process.pid) == idle.process.pid != os.getsid(0)
        quick.process.wait(10)
        assert stack.first_exited([idle, quick]) is quick
        with pytest.raises(stack.ChildExited, match="quick exited with code 3"):
            stack.supervise([idle, quick])
    finally:
        stack.stop_children([idle, quick])
    assert idle.process.returncode == -signal.SIGTERM


def test_a_failed_step_is_reported_in_the_summary() -> None:
    results = [stack.StepResult("ruff check", 0, 1.04), stack.StepResult("pytest", 5, 3.0)]
    summary = stack.format_summary(results).splitlines()
    assert summary[0].split() == ["step", "result", "seconds"]
    assert summary[1].split() == ["ruff", "check", "ok", "1.0"]
    # pytest's "no tests collected" counts as a failure.
    assert summary[2].split() == ["pytest", "FAILED", "3.0"]


def test_checks_beside_pytest_keep_their_order_output_and_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    steps = [
        ("first", [sys.executable, "-c", "import sys; print('one'); sys.exit(0)"]),
        (
            "second",
            [sys.executable, "-c", "import sys; print('two', file=sys.stderr); sys.exit(4)"],
        ),
        ("third", [sys.executable, "-c", "print('three')"]),
    ]
    checks = stack.CapturedSteps(steps)
    checks.start()
    print("pytest runs here")
    results = checks.finish()

    assert [(r.name, r.returncode) for r in results] == [("first", 0), ("second", 4), ("third", 0)]
    shown = capsys.readouterr().out
    # Each check's output, stderr included, comes after what ran in the foreground,
    # under its own header and in the steps' order; none is lost after a failure.
    expected = ["pytest runs here", "===== first", "one", "===== second", "two", "===== third"]
    order = [shown.index(text) for text in [*expected, "three"]]
    assert order == sorted(order)


def test_make_test_runs_the_stack_script_with_pytest_args() -> None:
    dry_run = subprocess.run(
        ["make", "-n", "test", "PYTEST_ARGS=-k import"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ".venv/bin/python scripts/stack.py test -k import" in dry_run.stdout


def test_ci_runs_make_test() -> None:
    ci = REPO_ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK)
    lines = [line.strip() for line in ci.read_text().splitlines()]
    assert "set -euo pipefail" in lines
    assert "make test" in lines


def test_exec_runs_one_command_with_the_service_urls_and_returns_its_exit_code() -> None:
    script = (
        "import os, sys; "
        "print(os.environ['DATABASE_URL'], os.environ['REDIS_URL'], sys.executable); sys.exit(7)"
    )
    result = subprocess.run(
        [sys.executable, "scripts/stack.py", "exec", "--", "python", "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 7, result.stderr
    database_url, redis_url, python = result.stdout.strip().splitlines()[-1].split()
    assert database_url.startswith("postgres://") and redis_url.startswith("redis://")
    assert Path(python).parent == Path(sys.executable).parent


def test_stack_without_a_mode_prints_its_usage() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/stack.py", "exec"], cwd=REPO_ROOT, capture_output=True, text=True
    )

    assert result.returncode == 2
    assert "usage:" in result.stderr and "exec -- COMMAND" in result.stderr
