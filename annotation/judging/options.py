"""A project's judging options: whether ties are allowed (annotation/judging/ties.py) and
which quick reason chips annotators may tick beside a judgment."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from annotation.judging.redundancy import RedundancyRejected
from annotation.models import AuditAction, Project, User, record_event

JUDGING_OPTION_FIELDS = ("allow_ties", "reason_chips")
MAX_REASON_CHIPS = 8
MAX_CHIP_LENGTH = 40


class OptionsRejected(RedundancyRejected):
    """Options that cannot be used; `problems` lists (field, message). Nothing changed."""


def judging_option_problems(
    allow_ties: Any = None, reason_chips: Any = None
) -> list[tuple[str, str]]:
    """What is wrong with these options, as (field, message) pairs; none when they are
    usable. None means "not given"."""
    problems = []
    if allow_ties is not None and not isinstance(allow_ties, bool):
        problems.append(("allow_ties", f"{allow_ties!r} is not true or false"))
    if reason_chips is not None:
        if not isinstance(reason_chips, list) or not all(
            isinstance(chip, str) for chip in reason_chips
        ):
            problems.append(("reason_chips", "give a list of short texts"))
            return problems
        chips = [chip.strip() for chip in reason_chips]
        if len(chips) > MAX_REASON_CHIPS:
            problems.append(
                ("reason_chips", f"{len(chips)} chips; offer {MAX_REASON_CHIPS} at most")
            )
        bad = [chip for chip in chips if not 1 <= len(chip) <= MAX_CHIP_LENGTH]
        if bad:
            problems.append(
                (
                    "reason_chips",
                    f"{bad} are empty or too long; each chip is 1 to {MAX_CHIP_LENGTH} characters",
                )
            )
        if len(set(chips)) != len(chips):
            problems.append(("reason_chips", f"{chips} repeat a chip; name each once"))
    return problems


def set_judging_options(
    project: Project, *, actor: User | None = None, **changes: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply `changes` (any of JUDGING_OPTION_FIELDS) to the project and record the change
    in the audit trail; returns the changed fields before and after. They apply from the
    next judgment on (judgments already stored keep their ties and reasons). Raises
    OptionsRejected, changing nothing, when a field is unknown or a value unusable."""
    unknown = sorted(set(changes) - set(JUDGING_OPTION_FIELDS))
    problems = [
        (name, f"is not a judging option; use {', '.join(JUDGING_OPTION_FIELDS)}")
        for name in unknown
    ] + judging_option_problems(changes.get("allow_ties"), changes.get("reason_chips"))
    if problems:
        raise OptionsRejected(problems)
    if "reason_chips" in changes:
        changes["reason_chips"] = [chip.strip() for chip in changes["reason_chips"]]
    with transaction.atomic():
        locked = Project.objects.locked().get(pk=project.pk)
        before = {
            name: getattr(locked, name)
            for name in changes
            if getattr(locked, name) != changes[name]
        }
        after = {name: changes[name] for name in before}
        for name, value in after.items():
            setattr(locked, name, value)
            setattr(project, name, value)
        if after:
            locked.save(update_fields=list(after))
            record_event(
                AuditAction.JUDGING_OPTIONS_CHANGED,
                actor=actor,
                project=project,
                target="judging options",
                before=before,
                after=after,
            )
    return before, after
