"""Token authentication with one prepared statement per request.

DRF's TokenAuthentication builds its token + user query through the ORM on every
request; compiling that query costs more CPU than PostgreSQL spends answering it. This
reads the same row (the token's user, by key) through a statement prepared once per
connection and refuses exactly what DRF refuses, with DRF's messages.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from annotation.models import User
from core.prepared import fetch_instance

_USER_BY_TOKEN = (
    "SELECT {columns} FROM authtoken_token t"
    f" JOIN {User._meta.db_table} m ON m.id = t.user_id WHERE t.key = %(key)s"
)


class PreparedTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, as DRF's, read through a prepared statement."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user = fetch_instance(User, "auth_user_by_token", _USER_BY_TOKEN, {"key": key})
        if not isinstance(user, User):
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, Token(key=key, user=user)
