"""Request ids: one id per request (or Celery task), on the response and in every log line.

A request keeps the X-Request-ID its proxy sent (when it is a sane token) or gets a new
one; the id goes back in the response's X-Request-ID header, into every log record made
while the request runs (RequestIdFilter adds `record.request_id`), and into the headers of
every Celery task the request enqueues, so a task's log lines carry the request's id.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
NO_REQUEST = "-"
# What a proxy's id may look like: no spaces or control characters to forge log lines with.
_ACCEPTED = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

_current: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)


def current_request_id() -> str:
    """The id of the request or task running in this context, or "-" outside one."""
    return _current.get()


def accepted_or_new(value: str | None) -> str:
    """The caller's id when it is a plain token of at most 128 characters, else a new uuid4."""
    if value and _ACCEPTED.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Give each request an id (see the module docstring); put it on the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = accepted_or_new(request.headers.get(HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        # Kept until the response is closed (request_finished below): Django logs a failed
        # request's status after the middleware has returned.
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


class RequestIdFilter(logging.Filter):
    """Add `request_id` to every record, so formatters may name it (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _current.get()
        return True


@receiver(request_finished)
def _end_of_request(**kwargs: Any) -> None:
    _current.set(NO_REQUEST)


@before_task_publish.connect
def _send_request_id(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    if headers is not None and _current.get() != NO_REQUEST:
        headers.setdefault("request_id", _current.get())


@task_prerun.connect
def _adopt_request_id(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    # A worker puts custom headers on the request; an eager apply() keeps them in .headers.
    request = getattr(task, "request", None)
    request_id = getattr(request, "request_id", None) or (
        getattr(request, "headers", None) or {}
    ).get("request_id")
    _current.set(accepted_or_new(request_id or task_id))


@task_postrun.connect
def _forget_request_id(**kwargs: Any) -> None:
    _current.set(NO_REQUEST)
