"""When a cycle starts: the periodic task's row, N new judgments, enabled policies, one
live run per project."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django_celery_beat.models import PeriodicTask

from tests.training.pipeline_support import add_train_judgments, grey_project, tiny_policy
from training.models import TrainingRun
from training.services.cycle import start_cycle
from training.services.policy import judgment_tally
from training.services.schedule import SCHEDULE_NAME, cycle_schedule, set_cycle_schedule
from training.tasks import start_due_cycles


@pytest.mark.django_db
def test_the_periodic_task_is_a_database_row_beat_reads_and_admins_edit() -> None:
    task = PeriodicTask.objects.get(name=SCHEDULE_NAME)
    assert task.task == "training.start_due_cycles" and task.enabled
    assert (task.interval.every, task.interval.period) == (15, "minutes")
    assert cycle_schedule().interval_minutes == 15

    set_cycle_schedule(60, False)

    task.refresh_from_db()
    assert (task.interval.every, task.enabled) == (60, False)
    assert cycle_schedule().enabled is False
    with pytest.raises(ValueError, match="between 1 minute and 7 days"):
        set_cycle_schedule(0, True)
    task.refresh_from_db()
    assert (task.interval.every, task.enabled) == (60, False)


@pytest.mark.django_db
def test_a_cycle_starts_only_once_n_new_judgments_arrived(tmp_path: Path) -> None:
    grey = grey_project(tmp_path, train_groups=4, test_groups=1, annotators=1)
    judged = judgment_tally(grey.project).total
    tiny_policy(grey.project, min_new_judgments=judged + 3)

    assert start_due_cycles() == []
    assert TrainingRun.objects.count() == 0

    add_train_judgments(tmp_path, grey, groups=2, seed=3)  # judged + 2: still short
    assert start_due_cycles() == []
    add_train_judgments(tmp_path, grey, groups=1, seed=4)  # judged + 3
    started = start_due_cycles()

    run = TrainingRun.objects.get()
    assert started == [run.pk]
    assert run.status == TrainingRun.Status.QUEUED and run.trigger == TrainingRun.Trigger.SCHEDULE
    assert run.new_judgments == judged + 3 and run.celery_task_id
    assert start_due_cycles() == []  # the live run is the project's one run

    # Once it is over, the count starts again from its watermark.
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.SUCCEEDED)
    assert judgment_tally(grey.project).new == 0
    assert start_due_cycles() == []


@pytest.mark.django_db
def test_a_disabled_policy_never_starts_a_cycle_but_a_forced_start_does(tmp_path: Path) -> None:
    grey = grey_project(tmp_path, train_groups=2, test_groups=1, annotators=1)
    tiny_policy(grey.project, enabled=False, min_new_judgments=1)
    assert start_due_cycles() == []  # due, but the schedule leaves the project alone

    tiny_policy(grey.project, enabled=True, min_new_judgments=1000)
    not_due = start_cycle(grey.project, enqueue=False)
    assert not_due.run is None and not not_due.created
    assert "the policy waits for 1000" in not_due.reason

    forced = start_cycle(grey.project, force=True, enqueue=False)
    assert forced.created and forced.run is not None
    again = start_cycle(grey.project, force=True, enqueue=False)
    assert not again.created and again.run == forced.run
    assert f"run {forced.run.pk} is already queued" == again.reason


@pytest.mark.django_db
def test_the_database_refuses_a_second_live_run_of_a_project(tmp_path: Path) -> None:
    grey = grey_project(tmp_path, train_groups=2, test_groups=1, annotators=1)
    first = start_cycle(grey.project, force=True, enqueue=False).run
    assert first is not None

    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingRun.objects.create(project=grey.project, status=TrainingRun.Status.TRAINING)

    TrainingRun.objects.filter(pk=first.pk).update(status=TrainingRun.Status.FAILED)
    second = start_cycle(grey.project, force=True, enqueue=False)
    assert second.created and second.run != first
