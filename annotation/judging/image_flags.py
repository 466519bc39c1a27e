"""Images flagged broken or unsafe: recording flags, withdrawing, restoring."""

from __future__ import annotations

from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet

from annotation.judging.circulation import return_to_circulation, take_out_of_circulation
from annotation.models import (
    Assignment,
    Image,
    ImageFlag,
    ImageFlagKind,
    Project,
    Task,
    User,
)


def record_image_flags(
    project: Project,
    annotator: User,
    assignment: Assignment,
    flags: list[str],
    image_ids: list[int],
) -> list[int]:
    """Record the annotator's broken/unsafe flags on images; withdraw those flagged enough.

    Runs inside the caller's transaction. Each (image, annotator, kind) is stored once
    (INSERT ... ON CONFLICT DO NOTHING), so a replayed flag counts once. An image flagged
    by at least `project.flag_withdraw_threshold` distinct annotators is withdrawn
    (Image.is_withdrawn) and every task showing it is taken out of circulation
    (Task.is_active = False) until an admin restores it. Returns the withdrawn image ids.
    """
    kinds = [kind for kind in flags if kind in ImageFlagKind.values]
    rows = [(image, annotator.pk, kind, assignment.pk) for image in image_ids for kind in kinds]
    if not rows:
        return []
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO annotation_imageflag (image_id, annotator_id, kind, assignment_id, "
            "is_cleared, created_at) VALUES (%s, %s, %s, %s, false, now()) "
            "ON CONFLICT (image_id, annotator_id, kind) DO UPDATE SET is_cleared = false "
            "WHERE annotation_imageflag.is_cleared",
            rows,
        )
    crossing = list(
        Image.objects.filter(pk__in=image_ids, is_withdrawn=False)
        .annotate(
            flaggers=Count("flags__annotator", distinct=True, filter=Q(flags__is_cleared=False))
        )
        .filter(flaggers__gte=max(1, project.flag_withdraw_threshold))
        .values_list("pk", flat=True)
    )
    if crossing:
        Image.objects.filter(pk__in=crossing).update(is_withdrawn=True)
        take_out_of_circulation(Task.objects.filter(task_images__image_id__in=crossing))
    return crossing


def withdrawn_images(project: Project | None = None) -> QuerySet[Image]:
    """Withdrawn images awaiting an admin's review, with their flag counts by kind."""
    images = Image.objects.filter(is_withdrawn=True)
    if project is not None:
        images = images.filter(project=project)
    return (
        images.select_related("project", "prompt")
        .annotate(
            broken=Count(
                "flags", filter=Q(flags__kind=ImageFlagKind.BROKEN_IMAGE, flags__is_cleared=False)
            ),
            unsafe=Count(
                "flags", filter=Q(flags__kind=ImageFlagKind.UNSAFE, flags__is_cleared=False)
            ),
        )
        .order_by("project__slug", "pk")
    )


def restore_image(image_id: int) -> int:
    """Put a withdrawn image back into circulation; returns how many tasks came back.

    Locks the image row (FOR NO KEY UPDATE: submits naming the image go on). A task is
    reactivated only when none of its images is still withdrawn and its prompt is not
    held for a safety review. The image's flags are kept but marked cleared, so it
    takes fresh flags to withdraw it again.
    """
    with transaction.atomic():
        image = Image.objects.select_for_update(no_key=True).filter(pk=image_id).first()
        if image is None or not image.is_withdrawn:
            return 0
        image.is_withdrawn = False
        image.save(update_fields=["is_withdrawn"])
        ImageFlag.objects.filter(image=image).update(is_cleared=True)
        return return_to_circulation(Task.objects.filter(task_images__image=image))
