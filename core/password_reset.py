"""Password reset: by email where an email server is configured (EMAIL_HOST), else a
page that says so and what to do instead, rather than a failed connection (a 500)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import PasswordResetView
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render


def email_configured() -> bool:
    """Whether the platform can send email: an SMTP host is set, or a backend that needs
    none (such as the test runner's in-memory outbox) is chosen."""
    return bool(settings.EMAIL_HOST) or not settings.EMAIL_BACKEND.endswith("smtp.EmailBackend")


def password_reset(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
    if email_configured():
        return PasswordResetView.as_view()(request, *args, **kwargs)
    return render(request, "registration/password_reset_unavailable.html")
