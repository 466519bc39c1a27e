"""Who may call what. Every API view names one of these (or IsAuthenticated)."""

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class IsPlatformAdmin(BasePermission):
    message = "Only admins may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_platform_admin)


class CanReadDatasets(BasePermission):
    message = "Only admins and researchers may do this."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.can_read_datasets)
