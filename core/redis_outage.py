"""A Redis outage as one process sees it: noticed once, logged once, recovery logged once.

Two things in a web process talk to Redis: the API throttles (API_THROTTLE_REDIS_URL) and
the Celery publisher (REDIS_URL, the broker). Neither may fail a request because Redis is
down: throttles let requests through, and queued work waits in the database (a batch stays
`imported`, a snapshot `queued`) until the periodic sweeps queue it again. Both report to
the outage of their URL here, so one outage of one server gives one WARNING line (naming
what is off and what waits) and one line when it answers again, however many requests
meet it. While an outage is known, Redis is left alone for OUTAGE_RETRY_S: a request pays
for at most one failed attempt per period, never for a wait on each.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

OUTAGE_RETRY_S = 5.0

_lock = threading.Lock()
_outages: dict[str, RedisOutage] = {}
_clients: dict[str, redis.Redis] = {}


def display_url(url: str) -> str:
    """The URL without its password, fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class RedisOutage:
    """Whether the Redis at `url` is known to be down, since when, and until when it is
    left alone. Thread-safe; one instance per URL per process (`outage_of`)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.down = False
        self.since = 0.0
        self.retry_at = 0.0

    def skipping(self) -> bool:
        """True while Redis is known down and not due for another attempt."""
        return self.down and time.monotonic() < self.retry_at

    def failed(self, error: BaseException) -> None:
        """An attempt failed: log the outage if it is new, and leave Redis alone a while."""
        with _lock:
            now = time.monotonic()
            if not self.down:
                self.down, self.since = True, now
                logger.warning(
                    "Redis at %s is unreachable (%s): %s. Nothing is lost; this is logged "
                    "once, and again when Redis answers.",
                    display_url(self.url),
                    str(error).strip().splitlines()[0] if str(error).strip() else type(error),
                    "; ".join(self._consequences()),
                )
            self.retry_at = now + OUTAGE_RETRY_S

    def answered(self) -> None:
        """An attempt succeeded: log the recovery if Redis was known down."""
        if not self.down:
            return
        with _lock:
            if self.down:
                self.down = False
                logger.warning(
                    "Redis at %s answers again after %.0f s: %s.",
                    display_url(self.url),
                    time.monotonic() - self.since,
                    "; ".join(self._recoveries()),
                )

    def clear(self) -> None:
        """Forget the outage without logging (tests)."""
        with _lock:
            self.down, self.since, self.retry_at = False, 0.0, 0.0

    def _roles(self) -> tuple[bool, bool]:
        return (
            self.url == settings.API_THROTTLE_REDIS_URL,
            self.url == settings.REDIS_URL,
        )

    def _consequences(self) -> list[str]:
        throttles, broker = self._roles()
        said = []
        if throttles:
            said.append("API throttling is off (requests are allowed)")
        if broker:
            said.append(
                "background work (batch processing, exports, scoring) is kept in the "
                "database and queued by the periodic sweeps once Redis is back"
            )
        return said or ["it is not used for anything known"]

    def _recoveries(self) -> list[str]:
        throttles, broker = self._roles()
        said = []
        if throttles:
            said.append("API throttling is back on")
        if broker:
            said.append("background work is queued again")
        return said or ["nothing waited for it"]


def outage_of(url: str) -> RedisOutage:
    """The outage record of the Redis at `url`, shared by every thread of this process."""
    outage = _outages.get(url)
    if outage is None:
        with _lock:
            outage = _outages.setdefault(url, RedisOutage(url))
    return outage


def broker_outage() -> RedisOutage:
    """The outage record of the Celery broker (REDIS_URL)."""
    return outage_of(settings.REDIS_URL)


def client_of(url: str) -> redis.Redis:
    """One client (connection pool) per URL, shared by the threads of a process; short
    timeouts, so a Redis that does not answer costs a request a fraction of a second."""
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.setdefault(
                url,
                redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.25),
            )
    return client
