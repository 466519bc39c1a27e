"""import_batch: the first real user action. Validate everything, then ingest at once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import IntegrityError, connection, transaction

from annotation.intake.batch_processing import enqueue_batch_processing
from annotation.intake.batch_source import (
    MANIFEST_NAME,
    BatchSource,
    MemberTooLarge,
    SourceLimits,
    open_batch_source,
    read_capped,
)
from annotation.intake.checked_upload import (
    WRITING_STAGE,
    CheckedUpload,
    check_upload_images,
    store_images,
)
from annotation.intake.hpd_import import ingest_hpd, validate_hpd
from annotation.intake.hpd_layout import find_hpd_prefix
from annotation.intake.import_summary import ImportSummary
from annotation.intake.manifest import ManifestGroup, ManifestRules, parse_manifest
from annotation.intake.media import MediaWriter, media_path_for
from annotation.intake.problems import BatchRejected, Problem
from annotation.intake.project_fit import (
    IncomingGroup,
    locked_project,
    problems_with_project,
    widen_project,
)
from annotation.judging import redundancy_problems, serving_order_problems, set_serving_order
from annotation.models import Batch, Image, Project, Prompt, Split, Task, TaskImage, User
from core.progress import Progress

__all__ = ["ImportSummary", "Progress", "import_batch", "import_option_problems"]

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock key: imports of all projects share MEDIA_ROOT, so they take turns.
IMPORT_LOCK_KEY = 0x48504449  # "HPDI"
MAX_MANIFEST_BYTES = 256 * 1024 * 1024


@dataclass(kw_only=True)
class _ValidatedBatch(CheckedUpload):
    groups: list[ManifestGroup]


def import_batch(
    path: Path,
    project_slug: str,
    *,
    split: str = Split.TRAIN,
    judgments_per_task: int | None = None,
    max_judgments_per_task: int | None = None,
    serving_order: str | None = None,
    uploaded_by: User | None = None,
    progress: Progress | None = None,
    media_journal: Path | None = None,
    on_ingested: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Import a prompt/image batch (a .zip or a folder with `manifest.jsonl`), or an
    HPD v2 release folder (`train.json` and/or `test.json` with `train/`, `test/`; its
    files decide the split, see hpd_import.py).

    Validates everything first and reports every problem at once (BatchRejected, each
    problem naming the file and manifest line). Then, in one transaction holding an
    advisory lock that serialises imports, creates the project on first import
    (pairwise when every group has two images, ranking otherwise), stores the images
    content-addressed under MEDIA_ROOT and writes the batch, prompts, images and tasks.

    Guarantees: when it raises (BatchRejected, StorageUnavailable or anything else),
    the database and MEDIA_ROOT are exactly as before. When it returns, every group of
    the manifest is stored exactly once.

    `judgments_per_task` (K) and `max_judgments_per_task` (M) set the batch's minimum
    and maximum judgments per task, for a new or an existing project (the project's own
    settings when not given; the maximum is at least the minimum). With M > K a task
    collects adaptively: past K only while its judgments are not confidently agreed
    (annotation/judging/stopping.py). Each task is imported wanting K; each judgment
    past K is asked for one at a time (annotation/judging/submission.py, settle_task).
    `serving_order` (fifo, random, uncertain-first; None keeps the project's) sets the
    project's serving order in the same transaction (annotation/judging/serving.py).

    With `media_journal`, every image file is named in that file before it is written
    (MediaWriter), so an import whose process is killed can be undone afterwards.
    `on_ingested` is called with the summary inside the import transaction, after the
    rows are written: what it writes commits with them, or not at all.
    """
    started = time.perf_counter()
    progress = progress or Progress()
    problems = import_option_problems(
        project_slug, split, judgments_per_task, max_judgments_per_task
    )
    problems.extend(
        Problem(where, message) for where, message in serving_order_problems(serving_order)
    )
    if not path.exists():
        problems.append(Problem(str(path), "does not exist; give a .zip file or a folder"))
    if problems:
        raise BatchRejected(problems)

    source = open_batch_source(path, _source_limits())
    writer = MediaWriter(Path(settings.MEDIA_ROOT), media_journal)
    try:
        hpd_prefix = None
        if _find_manifest_prefix(source) is None:
            hpd_prefix = find_hpd_prefix(source)
        if hpd_prefix is not None:
            summary = _import_hpd(
                source,
                hpd_prefix,
                project_slug,
                uploaded_by,
                writer,
                progress,
                serving_order,
                on_ingested,
            )
        else:
            validated = _validate(source, progress)
            # Files are removed on any failure, including one at COMMIT.
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
                summary = _ingest(
                    validated,
                    project_slug,
                    split,
                    (judgments_per_task, max_judgments_per_task),
                    uploaded_by,
                    writer,
                    progress,
                )
                _set_serving_order(summary, serving_order)
                if on_ingested is not None:
                    on_ingested(summary)
    except IntegrityError as exc:
        writer.rollback()
        raise BatchRejected(
            [Problem(source.name, f"conflicts with data imported meanwhile ({exc}); import again")]
        ) from exc
    except BaseException:
        writer.rollback()
        raise
    finally:
        source.close()
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary


def _import_hpd(
    source: BatchSource,
    prefix: str,
    slug: str,
    uploaded_by: User | None,
    writer: MediaWriter,
    progress: Progress,
    serving_order: str | None,
    on_ingested: Callable[[ImportSummary], None] | None,
) -> ImportSummary:
    """An HPD v2 release folder (train.json / test.json): its files decide the splits."""
    validated = validate_hpd(source, prefix, progress)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
        summary = ingest_hpd(validated, slug, uploaded_by, writer, progress)
        _set_serving_order(summary, serving_order)
        if on_ingested is not None:
            on_ingested(summary)
        return summary


def _set_serving_order(summary: ImportSummary, serving_order: str | None) -> None:
    """Inside the import transaction: the project's serving order, when one was asked."""
    if serving_order is not None:
        set_serving_order(Project.objects.get(slug=summary.project), serving_order)


def import_option_problems(
    slug: str, split: str, judgments_per_task: int | None, max_judgments_per_task: int | None
) -> list[Problem]:
    """What is wrong with an import's options (the project slug, split and redundancy)."""
    problems = []
    max_slug = Project._meta.get_field("slug").max_length or 64
    try:
        validate_slug(slug)
    except ValidationError:
        problems.append(
            Problem("project", f"{slug!r} is not a valid slug; use letters, digits, - and _")
        )
    else:
        if len(slug) > max_slug:
            problems.append(
                Problem(
                    "project",
                    f"the slug is {len(slug)} characters long; use at most {max_slug} characters",
                )
            )
    if split not in Split.values:
        problems.append(Problem("split", f"{split!r} is not a split; use train or test"))
    problems.extend(
        Problem(where, message)
        for where, message in redundancy_problems(judgments_per_task, max_judgments_per_task)
    )
    return problems


def _source_limits() -> SourceLimits:
    return SourceLimits(
        max_archive_bytes=settings.IMPORT_MAX_ARCHIVE_BYTES,
        max_uncompressed_bytes=settings.IMPORT_MAX_UNCOMPRESSED_BYTES,
        max_files=settings.IMPORT_MAX_FILES,
        max_compression_ratio=settings.IMPORT_MAX_COMPRESSION_RATIO,
        max_member_bytes=max(settings.IMPORT_MAX_IMAGE_BYTES, MAX_MANIFEST_BYTES),
    )


def _find_manifest_prefix(source: BatchSource) -> str | None:
    """'' when manifest.jsonl is at the top, 'folder/' when the batch sits in one folder."""
    if MANIFEST_NAME in source.members:
        return ""
    tops = {member.split("/", 1)[0] for member in source.members}
    if len(tops) == 1:
        top = tops.pop()
        if f"{top}/{MANIFEST_NAME}" in source.members:
            return f"{top}/"
    return None


def _validate(source: BatchSource, progress: Progress) -> _ValidatedBatch:
    problems = list(source.problems)
    if problems and not source.members:
        raise BatchRejected(problems)
    prefix = _find_manifest_prefix(source)
    if prefix is None:
        problems.append(
            Problem(
                source.name,
                f"has no {MANIFEST_NAME} at its top; add one JSON line per prompt group "
                "(format in the README), or an HPD v2 folder's train.json / test.json",
            )
        )
        raise BatchRejected(problems)

    manifest_where = f"{prefix}{MANIFEST_NAME}"
    try:
        with source.open_member(manifest_where) as stream:
            manifest_bytes = read_capped(stream, MAX_MANIFEST_BYTES)
    except MemberTooLarge:
        problems.append(Problem(manifest_where, f"is over {MAX_MANIFEST_BYTES} bytes"))
        raise BatchRejected(problems) from None
    rules = ManifestRules(
        max_prompt_chars=settings.IMPORT_MAX_PROMPT_CHARS,
        max_images_per_group=settings.IMPORT_MAX_IMAGES_PER_GROUP,
    )
    mentioned: set[str] = set()
    groups, manifest_problems = parse_manifest(manifest_bytes, manifest_where, rules, mentioned)
    problems.extend(manifest_problems)

    validated = _ValidatedBatch(source=source, prefix=prefix, groups=groups)
    referenced = _check_references(validated, manifest_where, problems, mentioned)
    problems += check_upload_images(validated, referenced, progress)
    if problems:
        raise BatchRejected(problems)
    return validated


def _check_references(
    validated: _ValidatedBatch,
    manifest_where: str,
    problems: list[Problem],
    mentioned: set[str] | None = None,
) -> list[str]:
    """Members to check as images; problems for missing references and unused members.

    The members to check are those the manifest's groups reference, then those only a
    rejected manifest line names: these are not unused (that line's problem is reported),
    and checking them now reports their own problems in the same pass.
    """
    members = validated.source.members
    referenced: dict[str, int] = {}
    for group in validated.groups:
        at = f"{manifest_where} line {group.line}"
        for image in group.images:
            member = validated.prefix + image.path
            if member in referenced:
                problems.append(
                    Problem(
                        at,
                        f"image {image.path!r} is also used on line {referenced[member]}; "
                        "an image belongs to one prompt group",
                    )
                )
            elif member not in members:
                problems.append(
                    Problem(
                        at,
                        f"image {image.path!r} is not in the batch; add the file or fix "
                        "the path (paths are relative to the manifest's folder)",
                    )
                )
            else:
                referenced[member] = group.line
    named_by_rejected_lines: list[str] = []
    for member in sorted(members):
        if member == manifest_where or member in referenced:
            continue
        if not member.startswith(validated.prefix):
            problems.append(
                Problem(member, f"is outside the folder that holds {MANIFEST_NAME}; remove it")
            )
        elif member[len(validated.prefix) :] in (mentioned or set()):
            named_by_rejected_lines.append(member)
        else:
            problems.append(
                Problem(
                    member,
                    "is in the batch but no manifest line uses it; remove it or add it to a group",
                )
            )
    return list(referenced) + named_by_rejected_lines


def _ingest(
    validated: _ValidatedBatch,
    slug: str,
    split: str,
    redundancy: tuple[int | None, int | None],
    uploaded_by: User | None,
    writer: MediaWriter,
    progress: Progress,
) -> ImportSummary:
    """Runs inside the import transaction, under the import lock. `redundancy`: the
    minimum and maximum judgments per task asked for (None: the project's)."""
    groups = validated.groups
    sizes = {len(group.images) for group in groups}
    asked_min, asked_max = redundancy
    project, created_project = locked_project(slug, sizes, asked_min, uploaded_by, asked_max)
    minimum = asked_min or project.judgments_per_task
    maximum = asked_max or max(minimum, project.judgments_maximum)
    problems = _check_against_project(validated, project, split) + [
        Problem(where, message) for where, message in redundancy_problems(minimum, maximum)
    ]
    if problems:
        raise BatchRejected(problems)
    widen_project(project, sizes)

    wanted = minimum
    batch = Batch.objects.create(
        project=project,
        status=Batch.Status.IMPORTED,
        split=split,
        judgments_per_task=minimum,
        max_judgments_per_task=maximum,
        source_name=validated.source.name[:500],
        uploaded_by=uploaded_by,
    )
    store_images(validated, writer, progress)
    counts = _write_rows(validated, project, batch, wanted, progress)
    Batch.objects.filter(pk=batch.pk).update(**counts)
    transaction.on_commit(lambda: enqueue_batch_processing(batch.pk))
    return ImportSummary(
        batch=batch.pk,
        project=project.slug,
        created_project=created_project,
        task_type=project.task_type,
        split=split,
        judgments_per_task=minimum,
        max_judgments_per_task=maximum,
        prompts=counts["prompt_count"],
        images=counts["image_count"],
        tasks=counts["task_count"],
        seconds=0.0,
    )


def _check_against_project(
    validated: _ValidatedBatch, project: Project, split: str
) -> list[Problem]:
    where = f"{validated.prefix}{MANIFEST_NAME}"
    groups = [
        IncomingGroup(f"{where} line {group.line}", group.prompt, len(group.images), split)
        for group in validated.groups
    ]
    return problems_with_project(groups, validated.facts, project)


def _write_rows(
    validated: _ValidatedBatch, project: Project, batch: Batch, wanted: int, progress: Progress
) -> dict[str, int]:
    groups = len(validated.groups)
    progress.start(WRITING_STAGE, 2 * groups + 2 * len(validated.facts))
    prompts = Prompt.objects.bulk_create(
        [
            Prompt(
                project=project,
                batch=batch,
                raw_text=group.prompt,
                source=group.source,
                line_number=group.line,
            )
            for group in validated.groups
        ],
        batch_size=5000,
    )
    progress.advance(len(prompts))
    images: list[Image] = []
    for group, prompt in zip(validated.groups, prompts, strict=True):
        for entry in group.images:
            member = validated.prefix + entry.path
            facts = validated.facts[member]
            images.append(
                Image(
                    project=project,
                    prompt=prompt,
                    sha256=facts.sha256,
                    file=media_path_for(facts.sha256, facts.extension),
                    original_name=entry.path[:500],
                    format=facts.format,
                    width=facts.width,
                    height=facts.height,
                    exif_orientation=facts.exif_orientation,
                    byte_size=facts.byte_size,
                    generator=entry.generator,
                )
            )
    Image.objects.bulk_create(images, batch_size=5000)
    progress.advance(len(images))
    tasks = Task.objects.bulk_create(
        [
            Task(project=project, batch=batch, prompt=prompt, judgments_wanted=wanted)
            for prompt in prompts
        ],
        batch_size=5000,
    )
    progress.advance(len(tasks))
    task_images: list[TaskImage] = []
    cursor = 0
    for group, task in zip(validated.groups, tasks, strict=True):
        for position in range(len(group.images)):
            task_images.append(TaskImage(task=task, image=images[cursor], position=position))
            cursor += 1
    TaskImage.objects.bulk_create(task_images, batch_size=5000)
    progress.advance(len(task_images))
    return {"prompt_count": len(prompts), "image_count": len(images), "task_count": len(tasks)}
