"""The platform's health: database, Redis and Celery workers, each checked for real.

`check_health()` locks nothing and writes nothing; each check has a short timeout, so
a dead dependency costs the caller about a second, never a hang. The answer is public:
it names what failed and the error's class; the error itself (host names, addresses) goes
to the log only.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

OK, DEGRADED, DOWN = "ok", "degraded", "down"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    status: str  # ok, degraded or down
    detail: str
    ms: float


@dataclass(frozen=True)
class Health:
    checks: dict[str, Check] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """down when the database or Redis is down; degraded when no worker answers."""
        statuses = {check.status for check in self.checks.values()}
        if DOWN in statuses:
            return DOWN
        return DEGRADED if DEGRADED in statuses else OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "checks": {
                name: {"status": c.status, "detail": c.detail, "ms": round(c.ms, 1)}
                for name, c in self.checks.items()
            },
        }


def _timed(status_and_detail: tuple[str, str], started: float) -> Check:
    return Check(*status_and_detail, ms=(time.perf_counter() - started) * 1000)


def check_database(database: BaseDatabaseWrapper = connection) -> Check:
    started = time.perf_counter()
    try:
        with database.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means the database is unusable
        database.close_if_unusable_or_obsolete()
        logger.error("health: the database is unreachable: %s", error)
        return _timed((DOWN, f"database unreachable ({error.__class__.__name__})"), started)
    return _timed((OK, "SELECT 1 answered"), started)


def check_redis() -> Check:
    started = time.perf_counter()
    client = redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=1.0, socket_timeout=1.0
    )
    try:
        client.ping()
    except redis.RedisError as error:
        logger.error("health: Redis is unreachable: %s", error)
        return _timed((DOWN, f"Redis unreachable ({error.__class__.__name__})"), started)
    finally:
        client.close()
    return _timed((OK, "PING answered"), started)


def check_workers() -> Check:
    """Ping the Celery workers through the broker; none answering is degraded, not down:
    the site works, only background work (post-processing, exports, scoring) waits."""
    from config.celery_app import app

    started = time.perf_counter()
    try:
        replies = app.control.ping(timeout=settings.HEALTH_WORKER_PING_TIMEOUT, limit=1)
    except Exception as error:  # the broker refused the ping: no worker can be reached
        logger.warning("health: could not ping the Celery workers: %s", error)
        return _timed((DEGRADED, f"could not ping workers: {error.__class__.__name__}"), started)
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return _timed(
            (
                DEGRADED,
                f"no Celery worker answered a ping within "
                f"{settings.HEALTH_WORKER_PING_TIMEOUT}s; background work is waiting",
            ),
            started,
        )
    return _timed((OK, f"answered: {', '.join(names)}"), started)


def check_health() -> Health:
    """Run every check. Workers are pinged only when Redis, their broker, is up."""
    checks = {"database": check_database(), "redis": check_redis()}
    if checks["redis"].status == OK:
        checks["workers"] = check_workers()
    else:
        checks["workers"] = Check(DEGRADED, "not pinged: Redis (the broker) is down", 0.0)
    return Health(checks)
