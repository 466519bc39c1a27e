"""Refusing an oversized request before anything reads its body.

Django reads no more of a body than its Content-Length, so checking that header keeps an
oversized upload off the disk altogether. It must run before CsrfViewMiddleware, which
parses form bodies. Each route gets the limit that fits it (`limit_for`): the batch
archive routes allow IMPORT_MAX_ARCHIVE_BYTES plus a multipart envelope (an archive that
slips under the envelope's slack is still refused by import_batch), scoring uploaded
images allows REQUEST_MAX_IMAGES_BYTES plus the envelope, the login forms
REQUEST_MAX_LOGIN_BYTES, and every other route (JSON and small forms)
REQUEST_MAX_BODY_BYTES.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import Resolver404, resolve

ENVELOPE_BYTES = 64 * 1024

# URL names (namespace:name) whose body may be larger than REQUEST_MAX_BODY_BYTES, with
# the setting that bounds each and whether a multipart envelope comes on top of it.
ROUTE_LIMITS: dict[str, tuple[str, bool]] = {
    "manage": ("IMPORT_MAX_ARCHIVE_BYTES", True),
    "project-batches": ("IMPORT_MAX_ARCHIVE_BYTES", True),
    "score-images": ("REQUEST_MAX_IMAGES_BYTES", True),
    "login": ("REQUEST_MAX_LOGIN_BYTES", False),
    "admin:login": ("REQUEST_MAX_LOGIN_BYTES", False),
}
DEFAULT_LIMIT = ("REQUEST_MAX_BODY_BYTES", False)

_ADVICE = {
    "IMPORT_MAX_ARCHIVE_BYTES": "split the batch into several archives, or import a folder "
    "on the server with `manage.py import_batch`",
    "REQUEST_MAX_IMAGES_BYTES": "send fewer or smaller images per request",
    "REQUEST_MAX_LOGIN_BYTES": "send only the username and password",
    "REQUEST_MAX_BODY_BYTES": "send a smaller body; uploads go to the batch upload routes",
}


def limit_for(path: str) -> tuple[str, int, int]:
    """The setting that bounds a body sent to `path`, its value, and the bytes allowed
    (the value plus the multipart envelope for uploads)."""
    try:
        match = resolve(path)
        name = match.view_name
    except Resolver404:
        name = ""
    setting, envelope = ROUTE_LIMITS.get(name, DEFAULT_LIMIT)
    value: int = getattr(settings, setting)
    return setting, value, value + (ENVELOPE_BYTES if envelope else 0)


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django itself rejects a malformed length when the body is read
        if declared <= 0:
            return self.get_response(request)
        setting, limit, allowed = limit_for(request.path_info)
        if declared > allowed:
            message = (
                f"The request body is {declared} bytes, over the limit of {limit} bytes "
                f"({setting}) for this address; {_ADVICE[setting]}."
            )
            status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=status)
            return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
