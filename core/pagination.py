"""The API's pagination: DRF's LimitOffsetPagination with `?limit=` capped.

A client asking for `?limit=10000000` gets API_MAX_PAGE_SIZE rows and the `next` link to
the rest, never one response holding a whole table.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    def get_limit(self, request: Request) -> int | None:
        self.max_limit = int(settings.API_MAX_PAGE_SIZE)
        return super().get_limit(request)
