"""API throttles on a Redis cache shared by every gunicorn worker, failing open.

Counts live in the `throttle` cache (Redis on REDIS_URL), so the limits hold across
workers and machines. When Redis cannot be reached, requests are allowed and the
outage is logged once (until Redis answers again): annotators keep working.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.core.cache import BaseCache, caches
from rest_framework.request import Request
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

logger = logging.getLogger(__name__)

_outage = threading.Event()


class _FailOpen(SimpleRateThrottle):
    """Use the shared `throttle` cache; allow the request when it is unreachable."""

    def __init__(self) -> None:
        super().__init__()
        self.cache: BaseCache = caches["throttle"]

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            allowed = super().allow_request(request, view)
        except Exception as exc:
            if not _outage.is_set():
                _outage.set()
                logger.warning(
                    "API throttling is off: its Redis cache is unreachable (%s); "
                    "requests are allowed until it answers again",
                    exc,
                )
            return True
        used_cache = getattr(self, "key", None) is not None
        if used_cache and _outage.is_set():
            _outage.clear()
            logger.warning("API throttling is back on: its Redis cache answers again")
        return bool(allowed)


class AnonThrottle(_FailOpen, AnonRateThrottle):
    """Anonymous requests, per client IP (API_THROTTLE_ANON)."""


class UserThrottle(_FailOpen, UserRateThrottle):
    """Authenticated requests, per user (API_THROTTLE_USER)."""


class ScopedThrottle(_FailOpen, ScopedRateThrottle):
    """Views naming a `throttle_scope`, e.g. "annotate" (API_THROTTLE_ANNOTATE)."""
