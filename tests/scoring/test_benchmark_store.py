"""Stored benchmark results: manage.py benchmark stores and reuses them, and
/api/v1/benchmarks/ runs one on the gpu queue and lists them."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotation.models import User
from core.redis_outage import broker_outage
from scoring import tasks
from scoring.core.benchmark_stats import BENCHMARK_STYLES
from scoring.models import BenchmarkJob, BenchmarkResult, ModelVersion
from tests.conftest import client_for
from tests.scoring.helpers import write_benchmark

Register = Callable[..., ModelVersion]
SMALL = {style: 3 for style in BENCHMARK_STYLES}


def run_command(*args: str) -> tuple[dict[str, Any], str]:
    out = io.StringIO()
    call_command("benchmark", *args, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1]), out.getvalue()


@pytest.mark.django_db
def test_a_stored_result_is_reused_without_scoring_again(
    tmp_path: Path, register_tiny: Register
) -> None:
    version = register_tiny("bench-model")
    prompts, folders = write_benchmark(tmp_path / "bench", {"gen-a": 1}, sizes=SMALL)
    args = [
        "--model-version",
        "bench-model",
        "--prompts",
        str(prompts),
        "--images",
        str(folders["gen-a"]),
        "--device",
        "cpu",
        "--bootstrap",
        "50",
    ]

    first, first_out = run_command(*args)
    assert first["reused"] is False and "Stored as benchmark result" in first_out
    stored = BenchmarkResult.objects.get()
    assert (stored.generator, stored.model_version, stored.precision, stored.antialias) == (
        "gen-a",
        version,
        "fp32",  # fp16 asked, but a CPU runs fp32: the key holds what ran
        False,
    )
    assert stored.figures["styles"] == first["styles"]
    assert stored.images_checksum == first["images_checksum"]

    # Without its checkpoint the model cannot load: a second run that scored would fail.
    checkpoint = Path(version.checkpoint_path)
    weights = checkpoint.read_bytes()
    checkpoint.unlink()
    second, second_out = run_command(*args)
    assert f"Reusing stored benchmark result {stored.pk}" in second_out
    assert "--force" in second_out
    assert second["reused"] is True and second["stored_result"] == stored.pk
    assert second["styles"] == first["styles"] and second["average"] == first["average"]
    assert BenchmarkResult.objects.count() == 1

    with pytest.raises(CommandError, match="checkpoint"):
        run_command(*args, "--force")  # --force scores again, so it needs the weights
    checkpoint.write_bytes(weights)

    # Other images (one file changed) are another key: scored and stored beside it.
    changed = folders["gen-a"] / "photo" / "00002.jpg"
    changed.write_bytes((folders["gen-a"] / "photo" / "00000.jpg").read_bytes())
    third, _ = run_command(*args)
    assert third["reused"] is False
    assert third["images_checksum"] != first["images_checksum"]
    assert BenchmarkResult.objects.count() == 2

    forced, _ = run_command(*args, "--force")
    assert forced["reused"] is False and forced["stored_result"] == third["stored_result"]
    assert BenchmarkResult.objects.count() == 2  # replaced under its key, not stored twice


@pytest.fixture
def bench_root(tmp_path: Path, settings: Any) -> Path:
    settings.BENCHMARK_ROOT = tmp_path / "benchmarks"
    write_benchmark(settings.BENCHMARK_ROOT, {"gen-a": 1, "gen-b": 2}, sizes=SMALL)
    return Path(settings.BENCHMARK_ROOT)


def gpu_queue_tasks() -> list[str]:
    """The task names waiting on the gpu queue of the real broker."""
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    return [json.loads(raw)["headers"]["task"] for raw in broker.lrange("gpu", 0, -1)]


@pytest.mark.django_db
def test_post_queues_a_job_on_the_gpu_queue_and_the_task_stores_the_result(
    bench_root: Path,
    register_tiny: Register,
    researcher_user: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    version = register_tiny("api-model")
    client = client_for(researcher_user)
    redis.Redis.from_url(django_settings.CELERY_BROKER_URL).delete("gpu")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("benchmark-list"),
            {
                "model_version": "api-model",
                "prompts": "prompts",
                "images": str(bench_root / "images" / "gen-a"),
                "bootstrap": 40,
            },
            format="json",
        )
    assert response.status_code == HTTPStatus.ACCEPTED, response.json()
    body = response.json()
    assert body["status"] == "queued" and body["result"] is None
    assert response["Location"] == body["url"]
    assert gpu_queue_tasks() == ["scoring.run_benchmark_job"]
    job = BenchmarkJob.objects.get(pk=body["id"])
    assert job.parameters["images"] == str((bench_root / "images" / "gen-a").resolve())
    assert BenchmarkResult.objects.count() == 0  # the web process scored nothing

    assert tasks.run_benchmark_job(job.pk) == "done"
    followed = client.get(body["url"]).json()
    assert followed["status"] == "done" and followed["reused"] is False
    result = BenchmarkResult.objects.get()
    assert followed["result"]["id"] == result.pk
    assert (result.generator, result.model_version, result.bootstrap) == ("gen-a", version, 40)
    assert set(followed["result"]["styles"]) == set(BENCHMARK_STYLES)
    assert tasks.run_benchmark_job(job.pk) == "gone or finished"  # a redelivery does nothing

    # The same request again reuses the stored result.
    again = client.post(
        reverse("benchmark-list"),
        {"model_version": "api-model", "prompts": "prompts", "images": "images/gen-a"},
        format="json",
    ).json()
    assert tasks.run_benchmark_job(again["id"]) == "done"
    reused = client.get(again["url"]).json()
    assert reused["reused"] is True and reused["result"]["id"] == result.pk
    assert BenchmarkResult.objects.count() == 1

    listing = client.get(reverse("benchmark-list"), {"model_version": "api-model"}).json()
    assert [row["generator"] for row in listing["results"]] == ["gen-a"]
    assert client.get(reverse("benchmark-list"), {"generator": "gen-b"}).json()["results"] == []


@pytest.mark.django_db
def test_paths_outside_the_benchmark_root_are_refused(
    bench_root: Path, tmp_path: Path, register_tiny: Register, admin_user: User
) -> None:
    register_tiny("api-model")
    client = client_for(admin_user)
    url = reverse("benchmark-list")

    outside = client.post(
        url, {"prompts": "../", "images": "images/gen-a", "model_version": "api-model"}
    )
    assert outside.status_code == HTTPStatus.BAD_REQUEST
    assert "prompts: ../ is outside the benchmark folder" in outside.json()["detail"]
    assert "BENCHMARK_ROOT" in outside.json()["detail"]
    absolute = client.post(
        url, {"prompts": "/etc", "images": "images/gen-a", "model_version": "api-model"}
    )
    assert "prompts: /etc is outside the benchmark folder" in absolute.json()["detail"]
    missing = client.post(
        url, {"prompts": "prompts", "images": "images/nope", "model_version": "api-model"}
    )
    assert missing.status_code == HTTPStatus.BAD_REQUEST
    assert "images: images/nope is not a folder under" in missing.json()["detail"]
    no_version = client.post(url, {"prompts": "prompts", "images": "images/gen-a"})
    assert no_version.status_code == HTTPStatus.CONFLICT
    unknown = client.post(
        url, {"prompts": "prompts", "images": "images/gen-a", "model_version": "nope"}
    )
    assert "no model version named 'nope'" in unknown.json()["detail"]
    invalid = client.post(url, {"prompts": "prompts"}, format="json")
    assert "images" in invalid.json()["errors"]
    assert BenchmarkJob.objects.count() == 0


@pytest.mark.django_db
def test_a_job_on_a_broken_layout_fails_saying_why(
    bench_root: Path, register_tiny: Register, admin_user: User
) -> None:
    register_tiny("api-model")
    (bench_root / "images" / "gen-b" / "anime" / "00001.jpg").unlink()
    client = client_for(admin_user)
    body = client.post(
        reverse("benchmark-list"),
        {"prompts": "prompts", "images": "images/gen-b", "model_version": "api-model"},
    ).json()
    assert tasks.run_benchmark_job(body["id"]) == "failed"
    failed = client.get(body["url"]).json()
    assert failed["status"] == "failed" and "00001.jpg: image missing" in failed["error"]
    assert BenchmarkResult.objects.count() == 0


@pytest.mark.django_db
def test_a_job_the_broker_cannot_take_fails_saying_so(
    bench_root: Path,
    register_tiny: Register,
    admin_user: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    register_tiny("api-model")
    outage = broker_outage()
    outage.failed(ConnectionRefusedError("the broker refused the connection"))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(admin_user).post(
                reverse("benchmark-list"),
                {"prompts": "prompts", "images": "images/gen-a", "model_version": "api-model"},
            )
    finally:
        outage.clear()
    assert response.status_code == HTTPStatus.ACCEPTED  # the request itself is recorded
    job = BenchmarkJob.objects.get(pk=response.json()["id"])
    assert job.status == "failed"
    assert "the gpu queue could not be reached; send the request again" in job.error


@pytest.mark.django_db
def test_a_filter_with_a_nul_character_is_a_400_naming_it(researcher_user: User) -> None:
    # PostgreSQL cannot compare a text with a NUL in it: without the check this was a 500.
    response = client_for(researcher_user).get(
        reverse("benchmark-list"), {"model_version": "a\x00b", "generator": "sdxl"}
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert "'model_version'" in response.json()["detail"]
    assert "NUL character" in response.json()["detail"]
