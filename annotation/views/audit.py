"""The audit trail: /manage/projects/<slug>/audit/ (the project's managers and admins)
and /manage/audit/ (admins: every event, the platform's own included)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotation.models import AuditAction, Capability, Project
from annotation.projects import audit_events, project_for
from core.access import admin_required

EVENTS_PER_PAGE = 50


@login_required
def project_audit(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_for(request.user, slug, Capability.MANAGE)  # type: ignore[arg-type]
    return _render(request, project)


@admin_required
def platform_audit(request: HttpRequest) -> HttpResponse:
    return _render(request, None)


def _render(request: HttpRequest, project: Project | None) -> HttpResponse:
    action = request.GET.get("action", "")
    if action not in AuditAction.values:
        action = ""
    page = Paginator(audit_events(project, action), EVENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"project": project, "page": page, "action": action, "actions": AuditAction.choices}
    return render(request, "annotation/manage_audit.html", context)
