"""How a collection is going, for the people running it: judgments collected against
judgments wanted, tasks complete, the rate and the time left at that rate, who is
working, skips and leases, over a project or one of its batches.

"Wanted" is each task's `judgments_wanted`, which the stopping rule keeps (annotation/
judging/submission.py, settle_task): a task imported wanting its minimum, past it one
more at a time while its judgments disagree, and a settled one no more. So the time
left is for what the rule asks today; a task that keeps disagreeing asks for more
later, up to its batch's maximum.

Out-of-circulation tasks (held prompts, withdrawn images) are left out of the counts and
reported on their own: they collect nothing until they return. Calibration judgments
are not counted (they do not fill a task, annotation/judging/submission.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import Greatest, TruncHour
from django.utils import timezone

from annotation.judging.progress import start_of_today
from annotation.models import Assignment, AssignmentStatus, Batch, Judgment, Project, Task
from core.intervals import poisson_interval, wilson_interval

RATE_WINDOW = timedelta(hours=1)  # the current rate: judgments in the last hour
ACTIVE_WINDOW = timedelta(minutes=15)  # "active now": a live lease or a finish this recent
CHART_HOURS = 24  # judgments per hour, over the last this many hours


@dataclass(frozen=True)
class CollectionProgress:
    tasks: int  # in circulation
    tasks_complete: int  # judgments done >= judgments wanted
    out_of_circulation: int
    collected: int  # judgments of the tasks in circulation
    wanted: int  # what the stopping rule asks of them in all
    remaining: int  # judgments still wanted (no task counted below zero)
    last_hour: int  # judgments submitted in the last RATE_WINDOW
    rate_interval: tuple[float, float]  # judgments per hour, exact Poisson 95%
    eta_hours: float | None  # remaining / rate; None with no judgment in the last hour
    eta_interval: tuple[float, float | None] | None  # None bound: no upper bound
    active_now: int
    active_today: int
    skipped: int
    finished: int  # submitted or skipped assignments (calibration ones not counted)
    skip_interval: tuple[float, float] | None  # Wilson 95%
    leases_held: int
    hourly: list[tuple[datetime, int]]  # start of each hour, judgments in it

    @property
    def share_complete(self) -> float | None:
        return self.tasks_complete / self.tasks if self.tasks else None

    @property
    def skip_rate(self) -> float | None:
        return self.skipped / self.finished if self.finished else None


def scope_tasks(project: Project, batch: Batch | None = None) -> QuerySet[Task]:
    tasks = Task.objects.filter(project=project)
    return tasks if batch is None else tasks.filter(batch=batch)


def hourly_judgments(judgments: QuerySet[Judgment], now: datetime) -> list[tuple[datetime, int]]:
    """Judgments per hour for the CHART_HOURS hours up to and including the current one
    (hours in the site's time zone), empty hours included."""
    current = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    first = current - timedelta(hours=CHART_HOURS - 1)
    counts = {
        timezone.localtime(row["hour"]): row["n"]
        for row in judgments.filter(created_at__gte=first)
        .annotate(hour=TruncHour("created_at"))
        .values("hour")
        .annotate(n=Count("id"))
    }
    hours = [first + timedelta(hours=i) for i in range(CHART_HOURS)]
    return [(hour, counts.get(hour, 0)) for hour in hours]


def eta(remaining: int, last_hour: int) -> tuple[float | None, tuple[float, float | None] | None]:
    """Hours to collect `remaining` judgments at `last_hour` per hour, with the interval
    from the rate's Poisson interval (no upper bound when the rate may be 0)."""
    if remaining == 0:
        return 0.0, (0.0, 0.0)
    if last_hour == 0:
        return None, None
    low, high = poisson_interval(last_hour)
    return remaining / last_hour, (remaining / high, remaining / low if low > 0 else None)


def collection_progress(
    project: Project, batch: Batch | None = None, *, now: datetime | None = None
) -> CollectionProgress:
    """The collection figures of `project`, or of one of its batches."""
    now = now or timezone.now()
    tasks = scope_tasks(project, batch)
    counts = tasks.aggregate(
        tasks=Count("id", filter=Q(is_active=True)),
        complete=Count("id", filter=Q(is_active=True, judgments_done__gte=F("judgments_wanted"))),
        out=Count("id", filter=Q(is_active=False)),
        collected=Sum("judgments_done", filter=Q(is_active=True), default=0),
        wanted=Sum("judgments_wanted", filter=Q(is_active=True), default=0),
        remaining=Sum(
            Greatest(F("judgments_wanted") - F("judgments_done"), 0),
            filter=Q(is_active=True),
            default=0,
        ),
    )
    judgments = Judgment.objects.filter(task__in=tasks, is_calibration=False)
    last_hour = judgments.filter(created_at__gt=now - RATE_WINDOW).count()
    assignments = Assignment.objects.filter(task__in=tasks)
    live = Q(status=AssignmentStatus.LEASED, expires_at__gt=now)
    people = assignments.aggregate(
        now=Count("annotator", distinct=True, filter=live | Q(finished_at__gt=now - ACTIVE_WINDOW)),
        today=Count(
            "annotator",
            distinct=True,
            filter=Q(leased_at__gte=start_of_today()) | Q(finished_at__gte=start_of_today()),
        ),
        leases=Count("id", filter=live),
        skipped=Count("id", filter=Q(status=AssignmentStatus.SKIPPED, is_calibration=False)),
        finished=Count(
            "id",
            filter=Q(
                status__in=[AssignmentStatus.SUBMITTED, AssignmentStatus.SKIPPED],
                is_calibration=False,
            ),
        ),
    )
    eta_hours, eta_interval = eta(counts["remaining"], last_hour)
    finished = people["finished"]
    return CollectionProgress(
        tasks=counts["tasks"],
        tasks_complete=counts["complete"],
        out_of_circulation=counts["out"],
        collected=counts["collected"],
        wanted=counts["wanted"],
        remaining=counts["remaining"],
        last_hour=last_hour,
        rate_interval=poisson_interval(last_hour),
        eta_hours=eta_hours,
        eta_interval=eta_interval,
        active_now=people["now"],
        active_today=people["today"],
        skipped=people["skipped"],
        finished=finished,
        skip_interval=wilson_interval(people["skipped"] / finished if finished else None, finished),
        leases_held=people["leases"],
        hourly=hourly_judgments(judgments, now),
    )


@dataclass(frozen=True)
class BatchProgress:
    batch: Batch
    tasks: int
    tasks_complete: int
    collected: int
    wanted: int


def batch_progress(project: Project) -> list[BatchProgress]:
    """Per batch of `project`, newest first: its tasks in circulation, complete, and
    judgments collected against wanted (the same counts as collection_progress)."""
    active = Q(tasks__is_active=True)
    rows = (
        Batch.objects.filter(project=project)
        .annotate(
            n_tasks=Count("tasks", filter=active),
            n_complete=Count(
                "tasks", filter=active & Q(tasks__judgments_done__gte=F("tasks__judgments_wanted"))
            ),
            n_collected=Sum("tasks__judgments_done", filter=active, default=0),
            n_wanted=Sum("tasks__judgments_wanted", filter=active, default=0),
        )
        .order_by("-created_at", "-id")
    )
    return [
        BatchProgress(row, row.n_tasks, row.n_complete, row.n_collected, row.n_wanted)
        for row in rows
    ]
