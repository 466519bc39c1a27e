"""API (and page) throttles counted in Redis, shared by every gunicorn worker, failing open.

Each limit is a fixed-window counter on the key `throttle:<scope>:<who>:<window>`: one
INCR per throttle and request (and an EXPIRE for a window's first), whatever the rate
(DRF's own throttles keep and re-pickle the whole request history on every request).
The limits hold across workers and machines (API_THROTTLE_REDIS_URL, by default REDIS_URL).

When Redis cannot be reached, requests are allowed and the outage is logged once
(core.redis_outage); Redis is not asked again for OUTAGE_RETRY_S, so an outage costs
requests nothing, and the first answer after it is logged too. Annotators keep working
through a Redis outage.

Pages that compute (the leaderboard on /datasets/, the quality dashboard) are limited
the same way per user (`throttle_page`, PAGE_THROTTLE_RATES), answering a 429 page.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.request import Request
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

from core.redis_outage import RedisOutage, client_of, outage_of

logger = logging.getLogger(__name__)

ViewFunc = Callable[..., HttpResponse]

KEY_PREFIX = "throttle"


def throttle_outage() -> RedisOutage:
    """The outage record of the throttles' Redis (shared with the broker's when the URLs
    are the same: one outage, one log line)."""
    return outage_of(settings.API_THROTTLE_REDIS_URL)


def redis_client() -> redis.Redis:
    """The throttles' client (one connection pool per URL, shared by a process's threads)."""
    return client_of(settings.API_THROTTLE_REDIS_URL)


def count_request(key: str, num_requests: int, duration: int) -> tuple[bool, float]:
    """Count one request on `key` in the current window of `duration` seconds: (whether
    it is within `num_requests`, seconds until the window ends). Allowed while Redis is
    unreachable (the outage is logged once)."""
    outage = throttle_outage()
    if outage.skipping():
        return True, 0.0
    now = time.time()
    window = int(now // duration)
    counter = f"{KEY_PREFIX}:{key}:{window}"
    try:
        client = redis_client()
        count = int(client.incr(counter))
        if count == 1:
            # The window's first request sets its lifetime; the key names its window,
            # so a lost EXPIRE would only leave a stale key, never a wrong count.
            client.expire(counter, duration + 1)
    except redis.RedisError as exc:
        outage.failed(exc)
        return True, 0.0
    outage.answered()
    return count <= num_requests, (window + 1) * duration - now


class _FixedWindow(SimpleRateThrottle):
    """`num_requests` per `duration` seconds, counted per fixed window in Redis."""

    wait_s: float = 0.0
    num_requests: int
    duration: int

    def allow_request(self, request: Request, view: Any) -> bool:
        if getattr(self, "rate", None) is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        allowed, self.wait_s = count_request(self.key, self.num_requests, self.duration)
        return allowed

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


class _PageRate(SimpleRateThrottle):
    """A rate string parsed as DRF parses the API's ("30/min")."""

    def __init__(self, rate: str) -> None:
        self.rate = rate
        self.num_requests, self.duration = self.parse_rate(rate)


def throttle_page(scope: str) -> Callable[[ViewFunc], ViewFunc]:
    """A page view limited per signed-in user to the rate PAGE_THROTTLE_RATES[scope],
    counted in Redis like the API throttles; past it the 429 page (templates/429.html)
    says how long to wait, with a Retry-After header. Anonymous requests pass (the
    view's login check answers them)."""

    def decorate(view: ViewFunc) -> ViewFunc:
        @functools.wraps(view)
        def limited(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            rate = _PageRate(settings.PAGE_THROTTLE_RATES[scope])
            user = request.user
            if user.is_authenticated and rate.num_requests and rate.duration:
                allowed, wait_s = count_request(
                    f"page_{scope}_{user.pk}", rate.num_requests, rate.duration
                )
                if not allowed:
                    wait = max(1, math.ceil(wait_s))
                    response = render(
                        request, "429.html", {"wait_s": wait, "rate": rate.rate}, status=429
                    )
                    response["Retry-After"] = str(wait)
                    return response
            return view(request, *args, **kwargs)

        return limited

    return decorate
