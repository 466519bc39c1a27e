"""Recording and reading the audit trail (annotation/models/audit.py)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from annotation.models import AuditEvent, Project, record_event

__all__ = ["audit_events", "form_changes", "record_event"]


def audit_events(project: Project | None = None, action: str = "") -> QuerySet[AuditEvent]:
    """The newest events first: of one project, or of the whole platform."""
    events = AuditEvent.objects.all()
    if project is not None:
        events = events.filter(project_id=project.pk)
    if action:
        events = events.filter(action=action)
    return events


def form_changes(form: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (before, after) values of the fields a bound, valid form changed."""
    names = [name for name in form.changed_data if name in form.cleaned_data]
    before = {name: _plain(form.initial.get(name)) for name in names}
    after = {name: _plain(form.cleaned_data[name]) for name in names}
    return before, after


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)
