"""Refusing a query string that holds a NUL character, for every route at once.

PostgreSQL cannot store or compare text with a NUL in it, so any view that filters by a
query parameter (a search box, a filter of a list) answered such a request with a 500.
Django's form fields refuse NULs field by field; this refuses them once, before any view
runs, with a 400 naming the parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, JsonResponse


def nul_parameter(request: HttpRequest) -> str | None:
    """The name of the first query parameter whose name or value holds a NUL, if any."""
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "\\0")
    return None


class NulQueryMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = nul_parameter(request)
        if name is None:
            return self.get_response(request)
        message = (
            f"The query parameter {name!r} contains a NUL character (%00), which no text "
            "here can hold; remove it and send the request again."
        )
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=HTTPStatus.BAD_REQUEST)
        return HttpResponse(message, status=HTTPStatus.BAD_REQUEST, content_type="text/plain")
