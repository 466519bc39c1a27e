"""Promote a candidate by hand, or roll back to the version that was active before."""

from __future__ import annotations

from django.db import transaction

from scoring.models import ModelVersion
from scoring.services import ScoringError, activate


def previous_active_version() -> ModelVersion | None:
    """The version retired most recently after having been active: the one the current
    active version replaced (or the last one active, when none is active now)."""
    return (
        ModelVersion.objects.filter(
            status=ModelVersion.Status.RETIRED,
            activated_at__isnull=False,
            retired_at__isnull=False,
        )
        .order_by("-retired_at", "-pk")
        .first()
    )


def promote(version_id: int) -> ModelVersion:
    """Activate a version (scoring.services.activate: locks, checks its checkpoint)."""
    return activate(version_id)


def roll_back() -> ModelVersion:
    """Re-activate the previously active version, retiring the current one. Locks the
    registry rows as activate does; raises ScoringError when there is none to go back to."""
    with transaction.atomic():
        previous = previous_active_version()
        if previous is None:
            raise ScoringError(
                "no version was active before this one; there is nothing to roll back to"
            )
        return activate(previous.pk)
