"""What the training trigger counts: N new judgments the cycle's export would keep
(annotation/quality/counted.py, without gold as the cycle exports it), above the last
finished run's watermark."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotation.intake.batch_processing import process_batch
from annotation.intake.importing import import_batch
from annotation.models import Project
from annotation.quality.annotator_quality import set_excluded
from annotation.quality.repeats import schedule_repeat_items
from tests.factories.batches import write_batch
from tests.factories.scenarios import counted_scenario, judge_next
from tests.training.pipeline_support import tiny_policy
from training.models import TrainingRun
from training.services.cycle import start_cycle
from training.services.policy import judgment_tally
from training.services.steps import EXPORT_PARAMETERS

pytestmark = pytest.mark.django_db


def test_only_judgments_the_export_keeps_count_as_new(tmp_path: Path) -> None:
    s = counted_scenario(tmp_path)
    assert EXPORT_PARAMETERS["exclude_gold"]  # the cycle leaves gold pairs out

    # Calibration, excluded, repeat and gold judgments aside: alice's plain one.
    tally = judgment_tally(s.project)
    assert (tally.total, tally.new, tally.watermark) == (1, 1, s.plain.pk)
    tiny_policy(s.project, min_new_judgments=2)
    not_due = start_cycle(s.project, enqueue=False)
    assert not_due.run is None
    assert "1 new judgment(s) since the last cycle" in not_due.reason

    summary = import_batch(write_batch(tmp_path / "more", groups=1, seed=7), s.project.slug)
    process_batch(summary.batch)
    Project.objects.filter(pk=s.project.pk).update(calibration_tasks=0, gold_rate=0.0)
    s.project.refresh_from_db()
    second = judge_next(s.project, s.alice)
    started = start_cycle(s.project, enqueue=False)
    run = started.run
    assert started.created and run is not None
    assert (run.new_judgments, run.judgment_count, run.judgment_watermark) == (2, 2, second.pk)
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.SUCCEEDED)
    assert judgment_tally(s.project).new == 0

    # After the run: a repeat judgment and an excluded annotator's judgment are not new.
    assert schedule_repeat_items(s.project) == 1
    repeat = judge_next(s.project, s.alice)
    assert repeat.task.repeat_of_id == second.task_id
    set_excluded(s.project, s.bob, excluded=False, by=None)
    later = judge_next(s.project, s.bob)
    set_excluded(s.project, s.bob, excluded=True, by=None)
    assert later.pk > run.judgment_watermark and repeat.pk > run.judgment_watermark
    tally = judgment_tally(s.project)
    assert (tally.total, tally.new, tally.watermark) == (2, 0, second.pk)

    # Included again, bob's judgments count: the one above the watermark is new, the
    # one below it is taken as seen by the run.
    set_excluded(s.project, s.bob, excluded=False, by=None)
    tally = judgment_tally(s.project)
    assert (tally.total, tally.new, tally.watermark) == (4, 1, later.pk)
