"""Which judgments count: the one rule behind the statistics, the export, the leaderboard
and the training trigger.

A judgment counts when it is not a calibration judgment, its annotator is not excluded
in the task's project (ProjectAnnotator.is_excluded), its task is not a repeat item
(Task.repeat_of), and its annotator did not take it back (Judgment.retracted_at: undo,
annotation/judging/undo.py). Gold tasks count unless the caller leaves them out (`include_gold`).

The rule is declared once, in `_UNCOUNTED`: the reasons a judgment does not count, in
the order they are checked, each an SQL condition over a judgment alias `{j}` and its
task's alias `{t}`. Everything else is derived from it: the export's CASE naming the
first reason (`uncounted_reasons`, `UNCOUNTED_REASONS`), a WHERE condition for raw SQL
(`counted_sql`) and querysets (`counted_judgments`, `counted_pairs`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from annotation.models import Judgment, PairJudgment, Project, ProjectAnnotator, Task

_JUDGMENT = Judgment._meta.db_table
_TASK = Task._meta.db_table
_STANDING = ProjectAnnotator._meta.db_table

# Why a judgment does not count, in the order the reasons are checked. The names are the
# export's reasons (annotation/export/query.py): DATASHEET.md and the snapshot summaries
# show them, so they and their order stay as they are (a new reason goes last).
_UNCOUNTED: tuple[tuple[str, str], ...] = (
    ("calibration", "{j}.is_calibration"),
    (
        "excluded_annotator",
        f"EXISTS (SELECT 1 FROM {_STANDING} standing WHERE standing.project_id = "
        "{t}.project_id AND standing.annotator_id = {j}.annotator_id AND standing.is_excluded)",
    ),
    ("repeat_task", "{t}.repeat_of_id IS NOT NULL"),
    ("retracted", "{j}.retracted_at IS NOT NULL"),
)
# Left out only when the caller asks (include_gold=False): gold pairs pit an image
# against a degraded copy, a check of annotators rather than a preference.
_GOLD: tuple[str, str] = ("gold_task", "{t}.is_gold")

GOLD_REASON = _GOLD[0]


def uncounted_reasons(
    judgment_alias: str = "j", task_alias: str = "t", *, include_gold: bool = True
) -> tuple[tuple[str, str], ...]:
    """(reason, SQL condition that holds when it applies) for each reason a judgment does
    not count, in the order they are checked; the gold reason last when not `include_gold`.
    The conditions take no parameters."""
    reasons = _UNCOUNTED if include_gold else (*_UNCOUNTED, _GOLD)
    return tuple(
        (name, condition.format(j=judgment_alias, t=task_alias)) for name, condition in reasons
    )


def gold_condition(task_alias: str = "t") -> str:
    """The SQL condition of the gold reason (the task is a gold task)."""
    return _GOLD[1].format(t=task_alias)


# Over the aliases j (judgment) and t (its task), as the export and statistics write them.
UNCOUNTED_REASONS = uncounted_reasons()


def counted_sql(
    judgment_alias: str = "j", task_alias: str = "t", *, include_gold: bool = True
) -> tuple[str, list[Any]]:
    """A WHERE condition (and its parameters) that holds for the judgments that count."""
    reasons = uncounted_reasons(judgment_alias, task_alias, include_gold=include_gold)
    return " AND ".join(f"NOT ({condition})" for _, condition in reasons), []


def _counted_ids(project: Project, include_gold: bool) -> RawSQL:
    where, params = counted_sql("j", "t", include_gold=include_gold)
    return RawSQL(
        f"SELECT j.id FROM {_JUDGMENT} j JOIN {_TASK} t ON t.id = j.task_id "
        f"WHERE t.project_id = %s AND {where}",
        [project.pk, *params],
    )


def counted_judgments(project: Project, *, include_gold: bool = True) -> QuerySet[Judgment]:
    """The project's judgments that count (gold ones too unless `include_gold` is False)."""
    return Judgment.objects.filter(
        task__project=project, pk__in=_counted_ids(project, include_gold)
    )


def counted_pairs(project: Project, *, include_gold: bool = True) -> QuerySet[PairJudgment]:
    """The project's pair rows derived from judgments that count."""
    return PairJudgment.objects.filter(
        project=project, judgment_id__in=_counted_ids(project, include_gold)
    )
