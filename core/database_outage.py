"""503 with Retry-After while PostgreSQL is unreachable, and the outage logged once.

While the database server is down or restarting, a request that needs it fails with a
connection error. Instead of a 500 and a traceback per request, the API answers
503 `{"detail": ..., "retry_after": N}` and pages a short 503 page, both with a
`Retry-After: N` header (DATABASE_RETRY_AFTER_SECONDS). Nothing is half-written: every
write runs in a transaction, which PostgreSQL rolls back when the connection drops.

The outage is logged once per process (WARNING) when a request first meets it, and once
when a request finds the database answering again. The broken connection is dropped at
the end of the request (Django's close_if_unusable_or_obsolete; CONN_HEALTH_CHECKS tests
a kept connection before its first use in a request), so the next request reconnects: the
service recovers without a restart.

Errors in views reach `DatabaseOutageMiddleware.process_exception`; those raised in other
middleware (a session saved on the way out) reach `server_error`, the handler500.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger(__name__)

# SQLSTATEs that mean the server went away: connection exceptions (class 08), and the
# administrator shutdown, crash shutdown and "starting up" of class 57 (not 57014, a
# statement cancelled by statement_timeout, which is the query's fault).
_SERVER_GONE_CODES = {"57P01", "57P02", "57P03"}


def is_connection_failure(error: BaseException) -> bool:
    """Whether `error` means PostgreSQL could not be reached, or dropped the connection.

    Connection failures carry no SQLSTATE (libpq reports them itself) or one of
    class 08 / 57P0x; deadlocks, serialization failures and timeouts are not outages.
    """
    if isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    code = getattr(error.__cause__, "pgcode", None)
    return code is None or code.startswith("08") or code in _SERVER_GONE_CODES


class _DatabaseOutage:
    """Whether this process knows the database to be unreachable, and since when."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.since: float | None = None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            if self.since is not None:
                return
            self.since = time.monotonic()
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        logger.warning(
            "The database is unreachable (%s): requests that need it are answered 503 with "
            "Retry-After %d s until it answers again; nothing is half-written. This is logged "
            "once, and again when it is back.",
            first_line,
            settings.DATABASE_RETRY_AFTER_SECONDS,
        )

    def answered(self) -> None:
        with self._lock:
            if self.since is None:
                return
            seconds, self.since = time.monotonic() - self.since, None
        logger.warning("The database answers again after %.0f s: requests are served.", seconds)

    @property
    def down(self) -> bool:
        return self.since is not None


outage = _DatabaseOutage()


def unavailable_response(request: HttpRequest, error: BaseException) -> HttpResponse:
    """The 503 for a request that met a database outage (JSON for the API, a page else)."""
    outage.failed(error)
    retry_after: int = settings.DATABASE_RETRY_AFTER_SECONDS
    detail = (
        "The database is unreachable right now, so this request was not completed. "
        f"Retry in {retry_after} s; a submit retried with the same Idempotency-Key is "
        "stored once."
    )
    status = HTTPStatus.SERVICE_UNAVAILABLE
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": detail, "retry_after": retry_after}, status=status)
    else:
        page = render_to_string("503.html", {"retry_after": retry_after})
        response = HttpResponse(page, status=status)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    # Logged once per outage above; Django would otherwise log an error per request.
    response._has_been_logged = True  # type: ignore[attr-defined]
    response.database_unavailable = True  # type: ignore[attr-defined]
    return response


class DatabaseOutageMiddleware:
    """Turn a view's database connection failure into a 503; notice the recovery."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # During an outage: the connection this request used, if open and answering,
        # means the database is back.
        if (
            outage.down
            and not getattr(response, "database_unavailable", False)
            and connection.connection is not None
            and connection.is_usable()
        ):
            outage.answered()
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_connection_failure(exception):
            return unavailable_response(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: a 503 when the error is a database outage, Django's 500 page otherwise."""
    import sys

    error = sys.exc_info()[1]
    if error is not None and is_connection_failure(error):
        return unavailable_response(request, error)
    return defaults.server_error(request)
