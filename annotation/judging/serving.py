"""The serving order: which open task an annotator is offered next.

Among the tasks an annotator may take (the slot rule and eligibility:
annotation/judging/assignment.py), tasks with more submitted judgments always come
first, so that started tasks finish before fresh ones start. Among tasks as far along
as each other, the project's `serving_order` decides:

- `fifo`: upload order (task id).
- `random`: a random order drawn once per task at import (Task.serving_key), the same
  for every annotator, so judgments still gather on few tasks at a time.
- `uncertain-first`: the smallest model margin first, then unscored tasks in upload
  order. A task's margin under the active scorer with scores s_1 <= ... <= s_N of its
  N images is m = min_i (s_{i+1} - s_i), the gap of the adjacent pair the scorer is
  least sure of (for a pair, |s_a - s_b|); it is empty while an image has no score from
  the active version. Margins are stored on the task (Task.model_margin) and refreshed
  when scores are stored, a version is activated or the active one retired, so the
  next-task query reads them from an index instead of sorting tasks per request.

Gold tasks are drawn in upload order whatever the setting, and the calibration round
keeps its own order; repeat items keep their eligibility rules and have no margin of
their own (under `uncertain-first` they come with the unscored tasks).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, transaction

from annotation.models import Project, ServingOrder

SERVING_ORDERS = tuple(ServingOrder.values)

# What follows "ORDER BY t.judgments_done DESC," in the next-task query, per order; each
# matches a partial index of annotation/models/judging.py (task_open_*idx).
ORDER_KEYS = {
    ServingOrder.FIFO: "t.id",
    ServingOrder.RANDOM: "t.serving_key, t.id",
    ServingOrder.UNCERTAIN_FIRST: "t.model_margin ASC NULLS LAST, t.id",
}

# Tasks whose margins are refreshed in one statement (one short transaction each, so
# the next-task query, which skips locked tasks, is never kept off many tasks at once).
MARGIN_CHUNK = 500

# The margin of each task in %(tasks)s under version %(version)s (NULL when an image has
# no score from it, or no version is given), written where it changed. Repeat items are
# left without one.
_REFRESH_MARGINS_SQL = """
WITH scored AS (
    SELECT ti.task_id, s.score,
           s.score - lag(s.score) OVER (PARTITION BY ti.task_id ORDER BY s.score) AS gap
    FROM annotation_taskimage ti
    LEFT JOIN scoring_imagescore s
      ON s.image_id = ti.image_id AND s.model_version_id = %(version)s
    WHERE ti.task_id = ANY(%(tasks)s::bigint[])
), margins AS (
    SELECT task_id, CASE WHEN bool_and(score IS NOT NULL) THEN min(gap) END AS margin
    FROM scored GROUP BY task_id
)
UPDATE annotation_task t SET model_margin = margins.margin
FROM margins
WHERE t.id = margins.task_id AND t.repeat_of_id IS NULL
  AND t.model_margin IS DISTINCT FROM margins.margin
"""


class ServingOrderRejected(ValueError):
    """A serving order that does not exist; the message names the ones that do."""


def serving_order_problems(order: str | None) -> list[tuple[str, str]]:
    """What is wrong with `order` as a serving order, as (field, message); None: not given."""
    if order is None or order in SERVING_ORDERS:
        return []
    return [("serving_order", f"{order!r} is not a serving order; use {', '.join(SERVING_ORDERS)}")]


def set_serving_order(project: Project, order: str) -> tuple[dict[str, str], dict[str, str]]:
    """Set the project's serving order (from the next task served); returns the changed
    field before and after (both empty when it already was `order`). Raises
    ServingOrderRejected, changing nothing, for an unknown order."""
    problems = serving_order_problems(order)
    if problems:
        raise ServingOrderRejected(problems[0][1])
    with transaction.atomic():
        locked = Project.objects.locked().get(pk=project.pk)
        before = locked.serving_order
        project.serving_order = order
        if before == order:
            return {}, {}
        locked.serving_order = order
        locked.save(update_fields=["serving_order"])
    return {"serving_order": before}, {"serving_order": order}


def refresh_margins(version_id: int | None, *, image_ids: Sequence[int] | None = None) -> int:
    """Recompute the stored margins of the tasks holding any of `image_ids` (all tasks
    when None) from the scores of version `version_id` (None clears them: no active
    scorer). The caller passes the active version. Returns how many tasks changed."""
    with connection.cursor() as cursor:
        if image_ids is None:
            cursor.execute("SELECT id FROM annotation_task ORDER BY id")
        else:
            cursor.execute(
                "SELECT DISTINCT task_id FROM annotation_taskimage"
                " WHERE image_id = ANY(%s::bigint[]) ORDER BY task_id",
                [list(image_ids)],
            )
        task_ids = [row[0] for row in cursor.fetchall()]
        changed = 0
        for start in range(0, len(task_ids), MARGIN_CHUNK):
            with transaction.atomic():
                cursor.execute(
                    _REFRESH_MARGINS_SQL,
                    {"version": version_id, "tasks": task_ids[start : start + MARGIN_CHUNK]},
                )
                changed += cursor.rowcount
    return changed
