"""Fixtures of the fault tests: servers of their own, never the suite's shared ones.

A fault test stops, kills or starves a real process. It gets a dedicated redis-server
(the same binary scripts/stack.py starts) and, when it restarts PostgreSQL, a dedicated
cluster (tests/faults/test_database_restart.py); the platform runs against them in
subprocesses with their own environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts import stack
from tests.services import child_env


@pytest.fixture
def dedicated_redis(tmp_path: Path) -> Iterator[stack.RedisServer]:
    server = stack.start_redis(tmp_path / "redis", persist=False)
    yield server
    server.stop()


def app_env(redis_url: str, media_root: Path, **extra: str) -> dict[str, str]:
    """The environment of a platform process: the test database, `redis_url` as broker
    and throttle store, its own MEDIA_ROOT."""
    return child_env(
        REDIS_URL=redis_url,
        API_THROTTLE_REDIS_URL=redis_url,
        MEDIA_ROOT=str(media_root),
        LOG_LEVEL="INFO",
        **extra,
    )
