"""Scenarios several test modules share: one judgment of each kind that the counting
rule (annotation/quality/counted.py) treats differently, made through the services."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count
from pathlib import Path

from annotation.intake import import_batch, process_batch
from annotation.judging import next_assignment, submit_judgment
from annotation.models import Judgment, Project, QualitySettings, Task, User
from annotation.projects import add_user
from annotation.quality import make_gold_pairs, schedule_repeat_items, set_excluded
from tests.factories.batches import write_batch
from tests.factories.users import member_of

_keys = count(1)


@dataclass
class Scenario:
    """One judgment of each kind, made through the services an annotator's work goes
    through: `plain` and `gold` count; the other three do not."""

    project: Project
    alice: User
    bob: User
    calibration: Judgment  # alice's calibration round, on a gold task
    excluded: Judgment  # bob's, on the task alice judged too; bob is then excluded
    plain: Judgment  # alice's
    gold: Judgment  # alice's, on the gold task not used for her calibration
    repeat: Judgment  # alice's, on the repeat item of her plain judgment's task


def judge_next(project: Project, annotator: User, *, calibration: bool = False) -> Judgment:
    """Lease the annotator's next task and submit a ranking of it: the gold ranking for a
    gold task, else the display order."""
    member_of(project, annotator)
    lease = next_assignment(project, annotator)
    assert lease is not None, f"no task left for {annotator.username}"
    assignment = lease.assignment
    assert assignment.is_calibration is calibration
    task = Task.objects.get(pk=assignment.task_id)
    ranking = list(task.gold_ranking or assignment.display_order)
    submitted = submit_judgment(
        assignment.pk,
        annotator,
        ranking=ranking,
        duration_ms=2500,
        flags=[],
        idempotency_key=f"counted-{next(_keys)}",
    )
    return Judgment.objects.get(pk=submitted.judgment.pk)


def counted_scenario(tmp: Path, slug: str = "counted") -> Scenario:
    """A pairwise project of one task wanting two judgments, and two gold pairs made from
    its images; bob judges the task and is excluded, alice passes calibration on one gold
    task, judges the task, the other gold task, and the repeat item of the task."""
    summary = import_batch(write_batch(tmp / "batch", groups=1), slug, judgments_per_task=2)
    process_batch(summary.batch)
    project = Project.objects.get(slug=slug)
    assert len(make_gold_pairs(project, count=2, seed=3)) == 2
    alice, bob = (
        add_user(f"{slug}-{name}", "annotator", password="correct-horse-9x").user
        for name in ("alice", "bob")
    )

    Project.objects.filter(pk=project.pk).update(calibration_tasks=0, gold_rate=0.0)
    project.refresh_from_db()
    excluded = judge_next(project, bob)
    set_excluded(project, bob, excluded=True, by=None, reason="random clicking")

    Project.objects.filter(pk=project.pk).update(calibration_tasks=1)
    project.refresh_from_db()
    calibration = judge_next(project, alice, calibration=True)
    plain = judge_next(project, alice)
    assert plain.task_id == excluded.task_id

    Project.objects.filter(pk=project.pk).update(gold_rate=1.0)
    project.refresh_from_db()
    gold = judge_next(project, alice)

    QualitySettings.objects.create(project=project, repeat_rate=1.0, repeat_after_hours=0)
    assert schedule_repeat_items(project) == 1  # none for bob: he is excluded
    repeat = judge_next(project, alice)  # no gold left: the repeat item is next

    scenario = Scenario(project, alice, bob, calibration, excluded, plain, gold, repeat)
    assert calibration.is_calibration and calibration.task.is_gold
    assert gold.task.is_gold and not gold.is_calibration and gold.task_id != calibration.task_id
    assert repeat.task.repeat_of_id == plain.task_id and repeat.task.repeat_for_id == alice.pk
    return scenario
