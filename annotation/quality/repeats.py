"""Repeat items: a task an annotator judged earlier, shown to them again (self-consistency)."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from annotation.models import Project, QualitySettings, Task, TaskImage
from annotation.quality.counted import counted_judgments


def schedule_repeat_items(project: Project, *, now: datetime | None = None) -> int:
    """Give each annotator repeats of `repeat_rate` of the tasks they judged; returns how many.

    A repeat is a copy of the task (same prompt and images) with repeat_of set, served
    only to repeat_for, wanting one judgment. The rate applies to the annotator's
    judgments that count (annotation/quality/counted.py: excluded annotators get none),
    and only tasks whose counted judgment is at least `repeat_after_hours` old, still
    active, not gold and not repeated for that annotator yet are chosen. Idempotent: the
    target counts existing repeats, so running again makes none until the annotator
    judges more. Locks the project row against a concurrent run
    (`Project.objects.locked()`: submits go on meanwhile).
    """
    now = now or timezone.now()
    thresholds = QualitySettings.objects.filter(project=project).first() or QualitySettings()
    if thresholds.repeat_rate <= 0:
        return 0
    cutoff = now - timedelta(hours=thresholds.repeat_after_hours)
    made = 0
    with transaction.atomic():
        Project.objects.locked().get(pk=project.pk)
        judged = counted_judgments(project).values("annotator_id").annotate(tasks=Count("task_id"))
        existing = dict(
            Task.objects.filter(project=project)
            .exclude(repeat_of=None)
            .values("repeat_for_id")
            .annotate(n=Count("id"))
            .values_list("repeat_for_id", "n")
        )
        for row in judged:
            annotator = row["annotator_id"]
            wanted = math.floor(thresholds.repeat_rate * row["tasks"]) - existing.get(annotator, 0)
            if wanted <= 0:
                continue
            earlier = counted_judgments(project).filter(
                annotator_id=annotator, created_at__lte=cutoff
            )
            candidates = list(
                Task.objects.filter(
                    project=project,
                    is_gold=False,
                    is_active=True,
                    pk__in=earlier.values("task_id"),
                )
                .exclude(repeats__repeat_for_id=annotator)
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            chosen = random.Random(f"{project.pk}:{annotator}:{len(candidates)}").sample(
                candidates, min(wanted, len(candidates))
            )
            for task_id in chosen:
                _copy_task(task_id, annotator)
                made += 1
    return made


def _copy_task(task_id: int, annotator: int) -> Task:
    original = Task.objects.get(pk=task_id)
    repeat = Task.objects.create(
        project_id=original.project_id,
        batch_id=original.batch_id,
        prompt_id=original.prompt_id,
        judgments_wanted=1,
        repeat_of=original,
        repeat_for_id=annotator,
    )
    TaskImage.objects.bulk_create(
        TaskImage(task=repeat, image_id=link.image_id, position=link.position)
        for link in original.task_images.all()
    )
    return repeat
