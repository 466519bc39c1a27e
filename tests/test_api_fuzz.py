"""Fuzz the API from its own OpenAPI schema (schemathesis), signed in as an admin:
whatever the generated path, query and body, no operation may answer 5xx.

The schema is fetched from /api/schema/ in-process (WSGI), so every call runs against the
test database. Half the cases aim at objects that exist (a real project, snapshot,
assignment and a judgment to undo) so the fuzzed bodies reach the views' logic, not only
their 404s. Each operation gets a handful of examples: the whole run stays under a minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from annotation.export import create_export, export_snapshot
from annotation.judging.assignment import next_assignment
from annotation.judging.submission import submit_judgment
from annotation.models import ImportJob, Role
from annotation.projects.accounts import add_user
from scoring.models import BenchmarkJob, ModelVersion, ScoreJob
from tests.factories.projects import judged_project
from tests.factories.tasks import make_tasks


@pytest.fixture
def api_schema(db: None) -> Iterator[Any]:
    # Like Django's test client: a request must not close the test's database connection
    # (its transaction holds the test data).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_world(tmp_path: Path, settings: Any) -> dict[str, Any]:
    settings.EXPORT_ROOT = tmp_path / "exports"
    judged = judged_project(tmp_path / "in", "fuzz", train_groups=1, test_groups=1, annotators=1)
    snapshot = create_export(judged.project, {}, enqueue=False)
    export_snapshot(snapshot.pk)
    admin = add_user("fuzz-admin", Role.ADMIN, password="correct-horse-battery-9").user
    make_tasks(judged.project, 2, images=4, wanted=2)
    lease = next_assignment(judged.project, admin)
    assert lease is not None
    # A judgment of the admin's own on another task, for POST .../undo/ to take back.
    judged_ahead = next_assignment(judged.project, admin, ahead_of=lease.assignment.pk)
    assert judged_ahead is not None
    submit_judgment(
        judged_ahead.assignment.pk,
        admin,
        ranking=list(judged_ahead.assignment.display_order),
        duration_ms=900,
        flags=[],
        idempotency_key="fuzz-undo",
    )
    # A score job and a benchmark job to follow, of an active version (a registry row
    # only: the web process never loads a model, so the fuzzed POSTs reach the queueing).
    version = ModelVersion.objects.create(
        name="fuzz-model",
        architecture="ViT-H-14",
        checkpoint_path="/x",
        checkpoint_sha256="0",
        status=ModelVersion.Status.ACTIVE,
    )
    score_job = ScoreJob.objects.create(model_version=version, image_ids=[1], created_by=admin)
    benchmark_job = BenchmarkJob.objects.create(model_version=version, created_by=admin)
    return {
        "token": admin.auth_token.key,
        "slug": judged.project.slug,
        "pk": snapshot.pk,
        "assignment": lease.assignment.pk,
        # A member the members endpoints name (removing them again is a no-op).
        "username": judged.annotators[0].username,
        "/api/v1/score/jobs/": score_job.pk,
        "/api/v1/benchmarks/jobs/": benchmark_job.pk,
        # Import jobs waiting for a worker: one to follow and cancel, one to queue again.
        "import": queued_import(judged.project.slug, tmp_path / "uploads" / "a").pk,
        "import-retry": queued_import(judged.project.slug, tmp_path / "uploads" / "b").pk,
    }


def queued_import(slug: str, folder: Path) -> ImportJob:
    return ImportJob.objects.create(
        project_slug=slug, split="train", source_name="fuzz.zip", source_path=str(folder / "z")
    )


FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure reproduces
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)


JOB_PATHS = ("/api/v1/score/jobs/", "/api/v1/benchmarks/jobs/")


def aim(case: Any, world: dict[str, Any]) -> None:
    """Point the case's path at objects that exist."""
    for key in case.path_parameters or {}:
        if key == "slug":
            case.path_parameters[key] = world["slug"]
        elif key == "username":
            case.path_parameters[key] = world["username"]
        elif key in {"id", "pk"} and case.path.startswith("/api/v1/imports/"):
            retry = case.path.endswith("/retry/")
            case.path_parameters[key] = world["import-retry"] if retry else world["import"]
        elif key in {"id", "pk"}:
            is_assignment = case.path.startswith("/api/v1/assignments/")
            job = next((world[p] for p in JOB_PATHS if case.path.startswith(p)), None)
            case.path_parameters[key] = (
                job if job is not None else world["assignment"] if is_assignment else world["pk"]
            )


def fuzz_operation(
    operation: Any, mode: GenerationMode, world: dict[str, Any], answered: set[str]
) -> list[str]:
    """Run the operation's cases; return the 5xx answers, add to `answered` each
    operation that answered a 2xx (the fuzz reached its logic)."""
    failures: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    @FUZZ
    def run(case: Any, real: bool) -> None:
        if real:
            aim(case, world)
        response = case.call(headers={"Authorization": f"Token {world['token']}"})
        if response.status_code < 300:
            answered.add(f"{case.method} {case.path}")
        if response.status_code >= 500:
            failures.append(
                f"{case.method} {case.formatted_path} ({mode.value}) answered "
                f"{response.status_code}: {response.text[:300]}\n{case.as_curl_command()}"
            )

    try:
        run()
    except Unsatisfiable:
        # Negative mode breaks a constraint of the schema; an operation whose only inputs
        # are a path (all strings) has none to break. Positive cases must always exist.
        if mode is not GenerationMode.NEGATIVE:
            raise
    return failures


def test_no_api_operation_answers_5xx(api_schema: Any, fuzz_world: dict[str, Any]) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 12, [op.label for op in operations]
    failures: list[str] = []
    answered: set[str] = set()
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += fuzz_operation(operation, mode, fuzz_world, answered)
    assert not failures, "\n\n".join(failures)
    # Not a run of 404s: most operations were reached with inputs they accepted (a
    # generated body rarely names an existing user for POST .../members/, a permutation of
    # a task's images for submit, images to score, or folders under BENCHMARK_ROOT).
    unanswered = sorted({op.label for op in operations} - answered)
    assert len(answered) >= len(operations) - 5, unanswered
