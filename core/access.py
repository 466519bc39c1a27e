"""Who may open which page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

View = Callable[..., HttpResponse]


def role_required(check: Callable[[Any], bool], message: str) -> Callable[[View], View]:
    """Anonymous users go to the login page; logged-in users failing `check` get a 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not check(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return guarded

    return decorate


admin_required = role_required(lambda user: user.is_platform_admin, "Only admins may do this.")
dataset_reader_required = role_required(
    lambda user: user.can_read_datasets, "Only admins and researchers may see this."
)
