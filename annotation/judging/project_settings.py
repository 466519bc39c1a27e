"""The settings a manager changes together on a running project: its adaptive
redundancy (annotation/judging/redundancy.py), its serving order
(annotation/judging/serving.py) and its judging options (annotation/judging/options.py),
applied at once or not at all."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotation.judging.options import (
    JUDGING_OPTION_FIELDS,
    judging_option_problems,
    set_judging_options,
)
from annotation.judging.redundancy import REDUNDANCY_FIELDS, RedundancyRejected, set_redundancy
from annotation.judging.serving import serving_order_problems, set_serving_order
from annotation.models import Project, User

COLLECTION_FIELDS = (*REDUNDANCY_FIELDS, "serving_order", *JUDGING_OPTION_FIELDS)


def change_project_settings(
    project: Project, *, actor: User | None = None, **changes: Any
) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Apply `changes` (any of COLLECTION_FIELDS) at once or not at all; returns, per
    group of settings that changed ("adaptive redundancy", "serving order"), the changed
    fields before and after. A change of the judging options is recorded in the audit
    trail by set_judging_options, with `actor`.

    Raises RedundancyRejected, changing nothing, listing every problem: an unknown field,
    an unknown serving order, unusable judging options, and whatever set_redundancy
    refuses.
    """
    problems = [
        (name, f"cannot be changed here; send {', '.join(COLLECTION_FIELDS)}")
        for name in sorted(set(changes) - set(COLLECTION_FIELDS))
    ]
    problems += serving_order_problems(changes.get("serving_order"))
    options = {name: changes[name] for name in JUDGING_OPTION_FIELDS if name in changes}
    problems += judging_option_problems(**options)
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
        if options:
            set_judging_options(project, actor=actor, **options)
    return changed
