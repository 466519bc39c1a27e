"""Changing a project's adaptive redundancy: its minimum and maximum judgments per task
and the consensus threshold of the stopping rule (annotation/judging/stopping.py)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotation.judging.stopping import redundancy_problems
from annotation.models import Project

REDUNDANCY_FIELDS = ("judgments_per_task", "max_judgments_per_task", "consensus_threshold")


class RedundancyRejected(Exception):
    """Settings that cannot be used; `problems` lists (field, message). Nothing changed."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {message}" for field, message in problems))
        self.problems = problems


def set_redundancy(project: Project, **changes: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply `changes` (any of REDUNDANCY_FIELDS) to the project, checked together with
    the values it keeps; returns the changed fields before and after.

    The minimum and maximum apply to batches imported from now on (each batch keeps the
    ones it was imported with: annotation/intake/importing.py); the threshold applies
    from the next judgment of any task. Raises RedundancyRejected, changing nothing,
    when a field is unknown or a value out of range or the maximum below the minimum.
    """
    unknown = sorted(set(changes) - set(REDUNDANCY_FIELDS))
    if unknown:
        raise RedundancyRejected(
            [
                (name, f"is not a redundancy setting; use {', '.join(REDUNDANCY_FIELDS)}")
                for name in unknown
            ]
        )
    with transaction.atomic():
        locked = Project.objects.locked().get(pk=project.pk)
        current = {name: getattr(locked, name) for name in REDUNDANCY_FIELDS}
        current["max_judgments_per_task"] = locked.judgments_maximum
        wanted = current | changes
        problems = redundancy_problems(
            wanted["judgments_per_task"],
            wanted["max_judgments_per_task"],
            wanted["consensus_threshold"],
        )
        if problems:
            raise RedundancyRejected(problems)
        before = {name: current[name] for name in changes if current[name] != changes[name]}
        after = {name: changes[name] for name in before}
        for name, value in wanted.items():
            setattr(locked, name, value)
            setattr(project, name, value)
        locked.save(update_fields=list(REDUNDANCY_FIELDS))
    return before, after
