"""The path converter of every row id in a URL: digits that fit PostgreSQL's bigint.

Django's own `int` converter matches any run of digits, so /api/v1/assignments/<28
digits>/submit/ reached the database and failed there ("bigint out of range", a 500).
With `<id:pk>` such a URL does not match: a 404, like any id that names no row.
"""

from __future__ import annotations

from django.urls import register_converter

BIGINT_MAX = 2**63 - 1


class RowIdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > BIGINT_MAX:
            raise ValueError(f"{value} is larger than any row id")
        return number

    def to_url(self, value: int) -> str:
        return str(value)


def register() -> None:
    """Make `<id:...>` available to the URL patterns (called once, by core/apps.py,
    before any URLconf loads)."""
    register_converter(RowIdConverter, "id")
