"""Shared set-up for benchmarks: Django on a throwaway database, results as JSON."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()


@contextmanager
def throwaway_database() -> Iterator[None]:
    """Create and migrate `<name>_benchmark` like the test runner does, and drop it after.

    Its own name, so a benchmark never clobbers the test suite's database.
    """
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{old_name}_benchmark"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def median(values: list[float]) -> float:
    return statistics.median(values)


def write_result(name: str, result: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"benchmark": name, "machine": machine(), **result}, indent=2))
    return path


def submit_ranking(
    http: Any, base_url: str, headers: dict[str, str], assignment: int, ranking: list[int]
) -> Any:
    """POST one judgment (`ranking`, best first) of a leased assignment, as the annotation
    page does, with a fresh Idempotency-Key; returns the urllib3 response."""
    return http.request(
        "POST",
        f"{base_url}/api/v1/assignments/{assignment}/submit/",
        body=json.dumps({"ranking": ranking, "duration_ms": 1500, "flags": []}),
        headers={
            **headers,
            "Content-Type": "application/json",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
