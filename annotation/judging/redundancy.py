"""Changing a project's adaptive redundancy: its minimum and maximum judgments per task
and the consensus threshold of the stopping rule (annotation/judging/stopping.py); and,
with its serving order (annotation/judging/serving.py), the collection settings a
manager changes together."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotation.judging.serving import serving_order_problems, set_serving_order
from annotation.judging.stopping import redundancy_problems
from annotation.models import Project

REDUNDANCY_FIELDS = ("judgments_per_task", "max_judgments_per_task", "consensus_threshold")
COLLECTION_FIELDS = (*REDUNDANCY_FIELDS, "serving_order")


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


def change_project_settings(
    project: Project, **changes: Any
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Apply `changes` (any of COLLECTION_FIELDS) at once or not at all; returns, per
    group of settings that changed ("adaptive redundancy", "serving order"), the changed
    fields before and after.

    Raises RedundancyRejected, changing nothing, listing every problem: an unknown field,
    an unknown serving order, and whatever set_redundancy refuses.
    """
    problems = [
        (name, f"cannot be changed here; send {', '.join(COLLECTION_FIELDS)}")
        for name in sorted(set(changes) - set(COLLECTION_FIELDS))
    ]
    problems += serving_order_problems(changes.get("serving_order"))
    redundancy = {name: changes[name] for name in REDUNDANCY_FIELDS if name in changes}
    changed: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    with transaction.atomic():
        try:
            before, after = set_redundancy(project, **redundancy)
        except RedundancyRejected as rejected:
            problems += rejected.problems
        if problems:
            raise RedundancyRejected(problems)
        if after:
            changed["adaptive redundancy"] = (before, after)
        if "serving_order" in changes:
            before, after = set_serving_order(project, changes["serving_order"])
            if after:
                changed["serving order"] = (before, after)
    return changed
