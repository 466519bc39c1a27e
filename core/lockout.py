"""Login lockout: django-axes' backend, for logins made through a request."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.http import HttpRequest


class LockoutBackend(AxesStandaloneBackend):
    """Refuse a login attempt for a locked-out username (django-axes), from any request.

    Password logins reach users only through requests: the login page and the admin's.
    Authentication called without a request (Django's test client `login()`, a shell)
    is not counted: there is no client to lock out, so this backend steps aside and
    ModelBackend decides, where axes' own backend would raise.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)
