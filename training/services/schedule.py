"""The periodic start of training cycles: a django-celery-beat PeriodicTask row.

It lives in the database (created by a migration), not in CELERY_BEAT_SCHEDULE: the
DatabaseScheduler rewrites settings-defined entries at every start, which would undo an
admin's edit. Beat picks edits up on its own (django-celery-beat tracks changes).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

SCHEDULE_NAME = "training: start due cycles"
TASK_NAME = "training.start_due_cycles"
DEFAULT_INTERVAL_MINUTES = 15


@dataclass(frozen=True)
class CycleSchedule:
    interval_minutes: int
    enabled: bool


def cycle_schedule() -> CycleSchedule:
    """The schedule as it is (the migration's defaults when the row was deleted)."""
    task = PeriodicTask.objects.filter(name=SCHEDULE_NAME).select_related("interval").first()
    if task is None or task.interval is None:
        return CycleSchedule(DEFAULT_INTERVAL_MINUTES, False if task is None else task.enabled)
    seconds = (
        task.interval.every
        * {
            IntervalSchedule.DAYS: 86400,
            IntervalSchedule.HOURS: 3600,
            IntervalSchedule.MINUTES: 60,
            IntervalSchedule.SECONDS: 1,
            IntervalSchedule.MICROSECONDS: 1e-6,
        }[task.interval.period]
    )
    return CycleSchedule(max(int(seconds // 60), 1), task.enabled)


def set_cycle_schedule(interval_minutes: int, enabled: bool) -> CycleSchedule:
    """Set how often beat checks for due projects, and whether it does. Locks the task
    row; creates it when missing."""
    if not 1 <= interval_minutes <= 7 * 24 * 60:
        raise ValueError("the interval must be between 1 minute and 7 days (10080 minutes)")
    with transaction.atomic():
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=interval_minutes, period=IntervalSchedule.MINUTES
        )
        task = PeriodicTask.objects.select_for_update().filter(name=SCHEDULE_NAME).first()
        if task is None:
            PeriodicTask.objects.create(
                name=SCHEDULE_NAME, task=TASK_NAME, interval=interval, enabled=enabled
            )
        else:
            task.interval = interval
            task.enabled = enabled
            task.save()
    return CycleSchedule(interval_minutes, enabled)
