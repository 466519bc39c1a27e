"""Which tasks are in circulation (offered to annotators), stated once.

A task is in circulation (Task.is_active) unless something keeps it out: its prompt is
held for a safety review (Prompt.is_held) or one of its images is withdrawn after flags
(Image.is_withdrawn). Whatever takes a task out calls `take_out_of_circulation`; whatever
lifts one of those reasons (an admin approving a prompt, restoring an image) calls
`return_to_circulation`, which brings back only the tasks that no other reason still
keeps out. Neither locks: callers hold the lock on the row whose state they changed.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from annotation.models import Task, TaskImage


def take_out_of_circulation(tasks: QuerySet[Task]) -> int:
    """Stop offering `tasks`; returns how many were in circulation."""
    return tasks.filter(is_active=True).update(is_active=False)


def return_to_circulation(tasks: QuerySet[Task]) -> int:
    """Offer again those of `tasks` that nothing keeps out (prompt not held, no image
    withdrawn); returns how many came back."""
    withdrawn_image = TaskImage.objects.filter(task=OuterRef("pk"), image__is_withdrawn=True)
    return (
        tasks.filter(is_active=False, prompt__is_held=False)
        .exclude(Exists(withdrawn_image))
        .update(is_active=True)
    )
