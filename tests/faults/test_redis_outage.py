"""Redis stopped while annotators work: next and submit keep answering and nothing is lost;
an export asked for during the outage waits in the database and is run once Redis is back;
the web server logs the outage once and the recovery once."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.intake.batch_processing import process_batch
from annotation.intake.importing import import_batch
from annotation.models import ExportSnapshot, Judgment, Project, Role
from annotation.projects import add_member, set_open_to_annotators
from annotation.projects.accounts import add_user
from scripts import stack
from tests.factories.batches import write_batch
from tests.faults.conftest import app_env
from tests.faults.processes import Annotator, call, start_worker, wait_for, web_server

pytestmark = pytest.mark.django_db(transaction=True)  # the servers see committed rows only

SLUG = "redis-outage"


def test_annotation_goes_on_through_a_redis_outage_and_waiting_work_resumes(
    tmp_path: Path, media_root: Path, dedicated_redis: stack.RedisServer
) -> None:
    batch = import_batch(write_batch(tmp_path / "batch", groups=400, seed=21), SLUG).batch
    process_batch(batch)
    project = Project.objects.get(slug=SLUG)
    set_open_to_annotators(project, True)
    tokens = [add_user(f"redis-annotator-{n}", Role.ANNOTATOR).token for n in range(3)]
    reader = add_user("redis-researcher", Role.RESEARCHER)
    add_member(project, reader.user, "researcher")
    researcher = reader.token
    env = app_env(
        dedicated_redis.url,
        media_root,
        EXPORT_ROOT=str(tmp_path / "exports"),
        SWEEP_INTERVAL_SECONDS="1",
    )
    web_log = tmp_path / "web.log"
    phase = {"now": "before"}
    redis = dedicated_redis
    with web_server(env, web_log) as url:
        annotators = [Annotator(url, SLUG, token, phase) for token in tokens]
        for annotator in annotators:
            annotator.start()
        try:
            wait_for(
                lambda: all(a.stored_count("before") >= 2 for a in annotators),
                "the annotators to submit with Redis up",
            )
            redis.stop()
            phase["now"] = "outage"
            export = call(url, "POST", f"/api/v1/projects/{SLUG}/exports/", researcher, {})
            wait_for(
                lambda: all(a.stored_count("outage") >= 5 for a in annotators),
                "the annotators to keep submitting while Redis is down",
            )
            redis = stack.start_redis(redis.directory, persist=False, port=redis.port)
            phase["now"] = "after"
            wait_for(
                lambda: "answers again" in web_log.read_text(),
                "the web server to find Redis answering again",
            )
            wait_for(
                lambda: all(a.stored_count("after") >= 2 for a in annotators),
                "the annotators to submit after the outage",
            )
        finally:
            for annotator in annotators:
                annotator.finish()

    replies = [(at, kind, reply.status) for a in annotators for at, kind, reply in a.replies]
    assert {status for _, _, status in replies} <= {200, 201, 204}, replies
    assert {at for at, kind, status in replies if kind == "submit" and status == 201} == {
        "before",
        "outage",
        "after",
    }
    submissions = [s for a in annotators for s in a.submissions]
    assert all(s.statuses == [201] for s in submissions)
    keys = sorted(Judgment.objects.values_list("idempotency_key", flat=True))
    assert keys == sorted(s.key for s in submissions)  # every submit stored, once

    log_lines = web_log.read_text().splitlines()
    outages = [line for line in log_lines if "is unreachable" in line]
    assert len(outages) == 1 and " WARNING " in outages[0], log_lines
    assert f"Redis at {redis.url} is unreachable" in outages[0]
    assert "API throttling is off" in outages[0] and "background work" in outages[0]
    recoveries = [line for line in log_lines if "answers again" in line]
    assert len(recoveries) == 1 and " WARNING " in recoveries[0], log_lines
    assert not [line for line in log_lines if " ERROR " in line or "Traceback" in line]

    # The export asked for during the outage was recorded and waits, queued.
    assert export.status == 202, export.body
    assert ExportSnapshot.objects.get().status == "queued"
    worker = start_worker(env, tmp_path / "worker.log", beat=True)
    try:
        wait_for(
            lambda: ExportSnapshot.objects.get().status not in ("queued", "running"),
            "the sweep and the worker to run the waiting export",
        )
    finally:
        worker.stop()
        redis.stop()  # the restarted server (the fixture stops the first one)
    snapshot = ExportSnapshot.objects.get()
    assert (snapshot.status, snapshot.error) == ("done", "")
    assert snapshot.counts["kept_judgments"] == len(submissions)
