"""Refusing an oversized request before anything reads its body.

Django reads no more of a body than its Content-Length, so checking that header keeps an
oversized upload off the disk altogether. It must run before CsrfViewMiddleware, which
parses form bodies. The largest legitimate body is a batch archive
(IMPORT_MAX_ARCHIVE_BYTES) plus its multipart envelope; an archive that slips under the
envelope's slack is still refused by import_batch.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

ENVELOPE_BYTES = 64 * 1024


class RequestBodyLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # Django itself rejects a malformed length when the body is read
        limit = settings.IMPORT_MAX_ARCHIVE_BYTES
        if declared > limit + ENVELOPE_BYTES:
            message = (
                f"The request body is {declared} bytes, over the limit of {limit} bytes "
                "(IMPORT_MAX_ARCHIVE_BYTES); split the batch into several archives, or import "
                "a folder on the server with `manage.py import_batch`."
            )
            status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=status)
            return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
