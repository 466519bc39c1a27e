"""API throttles counted in Redis, shared by every gunicorn worker, failing open.

Each limit is a fixed-window counter on the key `throttle:<scope>:<who>:<window>`: one
INCR per throttle and request (and an EXPIRE for a window's first), whatever the rate
(DRF's own throttles keep and re-pickle the whole request history on every request).
The limits hold across workers and machines (API_THROTTLE_REDIS_URL, by default REDIS_URL).

When Redis cannot be reached, requests are allowed and the outage is logged once
(core.redis_outage); Redis is not asked again for OUTAGE_RETRY_S, so an outage costs
requests nothing, and the first answer after it is logged too. Annotators keep working
through a Redis outage.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

from core.redis_outage import RedisOutage, client_of, outage_of

logger = logging.getLogger(__name__)

KEY_PREFIX = "throttle"


def throttle_outage() -> RedisOutage:
    """The outage record of the throttles' Redis (shared with the broker's when the URLs
    are the same: one outage, one log line)."""
    return outage_of(settings.API_THROTTLE_REDIS_URL)


def redis_client() -> redis.Redis:
    """The throttles' client (one connection pool per URL, shared by a process's threads)."""
    return client_of(settings.API_THROTTLE_REDIS_URL)


class _FixedWindow(SimpleRateThrottle):
    """`num_requests` per `duration` seconds, counted per fixed window in Redis."""

    wait_s: float = 0.0
    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: Any) -> bool:
        if getattr(self, "rate", None) is None:
            return True
        self.key = self.get_cache_key(request, view)
        outage = throttle_outage()
        if self.key is None or outage.skipping():
            return True
        now = time.time()
        window = int(now // self.duration)
        key = f"{KEY_PREFIX}:{self.key}:{window}"
        try:
            client = redis_client()
            count = int(client.incr(key))
            if count == 1:
                # The window's first request sets its lifetime; the key names its window,
                # so a lost EXPIRE would only leave a stale key, never a wrong count.
                client.expire(key, self.duration + 1)
        except redis.RedisError as exc:
            outage.failed(exc)
            return True
        outage.answered()
        self.wait_s = (window + 1) * self.duration - now
        return count <= self.num_requests

    def wait(self) -> float:
        return max(self.wait_s, 0.0)


class AnonThrottle(_FixedWindow, AnonRateThrottle):
    """Anonymous requests, per client IP (API_THROTTLE_ANON)."""


class UserThrottle(_FixedWindow, UserRateThrottle):
    """Authenticated requests, per user (API_THROTTLE_USER)."""


class ScopedThrottle(_FixedWindow, ScopedRateThrottle):
    """Views naming a `throttle_scope`, e.g. "annotate" (API_THROTTLE_ANNOTATE)."""

    def allow_request(self, request: Request, view: Any) -> bool:
        # As ScopedRateThrottle does: the rate is the view's scope's, known only now.
        self.scope = getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        num_requests, duration = self.parse_rate(self.rate)
        if num_requests is None or duration is None:
            return True
        self.num_requests, self.duration = num_requests, duration
        return super().allow_request(request, view)
