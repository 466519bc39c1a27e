"""Importing an HPD v2 release folder through import_batch: tasks, pseudonymous
annotators keyed by user_hash, and their judgments with pair rows.

train.json pairs become pairwise tasks with one judgment each (by the entry's
`user_hash` where it has one, else by one pseudonymous "HPD v2 train annotator"); tied
pairs are counted in the summary and skipped. test.json groups become ranking tasks with
one judgment per raw annotation, keeping their released `rank` list. Prompts keep their
text as released (already cleaned of style words), so an export reproduces the same
files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction

from annotation.intake.batch_processing import enqueue_batch_processing
from annotation.intake.batch_source import BatchSource, unsafe_path_reason
from annotation.intake.checked_upload import CheckedUpload, check_upload_images, store_images
from annotation.intake.hpd_layout import HPD_FILES, HpdSplit, parse_hpd
from annotation.intake.import_summary import ImportSummary
from annotation.intake.manifest import ManifestRules
from annotation.intake.media import MediaWriter, media_path_for
from annotation.intake.problems import BatchRejected, Problem
from annotation.intake.project_fit import (
    IncomingGroup,
    locked_project,
    problems_with_project,
    widen_project,
)
from annotation.models import (
    Batch,
    Image,
    Judgment,
    PairJudgment,
    Project,
    Prompt,
    Role,
    Task,
    TaskImage,
    User,
)
from core.progress import Progress

TRAIN_ANNOTATOR = "hpd-v2-train"  # external_id of the annotator train.json does not name


@dataclass
class HpdImportSummary(ImportSummary):
    batches: list[int] = field(default_factory=list)
    judgments: int = 0
    annotators: int = 0
    ties_skipped: int = 0  # train.json pairs whose human_preference is a tie


@dataclass(kw_only=True)
class ValidatedHpd(CheckedUpload):
    splits: list[HpdSplit]


def validate_hpd(source: BatchSource, prefix: str, progress: Progress) -> ValidatedHpd:
    """Parse train.json / test.json and check every image they name; raise BatchRejected
    with every problem found."""
    problems = list(source.problems)
    rules = ManifestRules(
        max_prompt_chars=settings.IMPORT_MAX_PROMPT_CHARS,
        max_images_per_group=settings.IMPORT_MAX_IMAGES_PER_GROUP,
    )
    splits = parse_hpd(source, prefix, rules, problems)
    referenced: list[str] = []
    prompts_by_split: dict[str, set[str]] = {}
    for split in splits:
        owner: dict[str, str] = {}
        prompts_by_split[split.split] = set()
        for entry in split.entries:
            at = f"{prefix}{HPD_FILES[split.split]} entry {entry.number}"
            prompts_by_split[split.split].add(entry.prompt)
            for path in entry.paths:
                member = f"{prefix}{split.split}/{path}"
                reason = unsafe_path_reason(path)
                if reason:
                    problems.append(Problem(at, f"image path {path!r} {reason}"))
                elif member not in source.members:
                    problems.append(
                        Problem(
                            at,
                            f"image {path!r} is not in {split.split}/; add the file or fix "
                            f"the path (paths are relative to the {split.split}/ folder)",
                        )
                    )
                elif member in owner and owner[member] != entry.prompt:
                    problems.append(
                        Problem(
                            at,
                            f"image {path!r} is also used with another prompt; an image "
                            "belongs to one prompt",
                        )
                    )
                elif member not in owner:
                    owner[member] = entry.prompt
                    referenced.append(member)
    shared = prompts_by_split.get("train", set()) & prompts_by_split.get("test", set())
    for text in sorted(shared):
        problems.append(
            Problem(
                f"{prefix}test.json",
                f"prompt {text[:80]!r} is also in train.json; train "
                "and test must not share a prompt",
            )
        )
    used = set(referenced) | {prefix + name for name in HPD_FILES.values()}
    used |= {f"{prefix}{s.split}/{path}" for s in splits for tie in s.ties for path in tie.paths}
    for member in sorted(set(source.members) - used):
        problems.append(
            Problem(
                member,
                "is in the folder but neither train.json nor test.json uses it; "
                "remove it or add it to an entry",
            )
        )
    validated = ValidatedHpd(source=source, prefix=prefix, splits=splits)
    problems += check_upload_images(validated, referenced, progress)
    if problems:
        raise BatchRejected(problems)
    return validated


def ingest_hpd(
    validated: ValidatedHpd,
    slug: str,
    uploaded_by: User | None,
    writer: MediaWriter,
    progress: Progress,
) -> HpdImportSummary:
    """Runs inside the import transaction, under the import lock."""
    sizes = {len(e.paths) for split in validated.splits for e in split.entries} or {2}
    project, created_project = locked_project(slug, sizes, None, uploaded_by)
    problems = _check_against_project(validated, project)
    if problems:
        raise BatchRejected(problems)
    widen_project(project, sizes)
    store_images(validated, writer, progress)
    totals: dict[str, Any] = {"prompts": 0, "images": 0, "tasks": 0, "judgments": 0}
    batches: list[int] = []
    annotators: set[int] = set()
    for split in validated.splits:
        batch = _write_split(validated, split, project, uploaded_by, totals, annotators)
        batches.append(batch.pk)
        transaction.on_commit(partial(enqueue_batch_processing, batch.pk))
    return HpdImportSummary(
        batch=batches[0] if batches else 0,
        project=project.slug,
        created_project=created_project,
        task_type=project.task_type,
        split="+".join(split.split for split in validated.splits),
        judgments_per_task=1,
        prompts=totals["prompts"],
        images=totals["images"],
        tasks=totals["tasks"],
        seconds=0.0,
        batches=batches,
        judgments=totals["judgments"],
        annotators=len(annotators),
        ties_skipped=sum(len(split.ties) for split in validated.splits),
    )


def _check_against_project(validated: ValidatedHpd, project: Project) -> list[Problem]:
    groups = [
        IncomingGroup(
            f"{validated.prefix}{HPD_FILES[split.split]} entry {entry.number}",
            entry.prompt,
            len(entry.paths),
            split.split,
        )
        for split in validated.splits
        for entry in split.entries
    ]
    return problems_with_project(groups, validated.facts, project)


def _annotators(hashes: set[str]) -> dict[str, User]:
    """Pseudonymous annotators by external id, created when new (no usable password)."""
    found = {user.external_id: user for user in User.objects.filter(external_id__in=hashes)}
    missing = sorted(hashes - set(found))
    created = User.objects.bulk_create(
        User(
            username=f"hpd-{external}"[:150],
            external_id=external,
            role=Role.ANNOTATOR,
            password=make_password(None),
        )
        for external in missing
    )
    found.update({user.external_id: user for user in created})
    return found


def _write_split(
    validated: ValidatedHpd,
    split: HpdSplit,
    project: Project,
    uploaded_by: User | None,
    totals: dict[str, Any],
    annotators: set[int],
) -> Batch:
    name = HPD_FILES[split.split]
    batch = Batch.objects.create(
        project=project,
        status=Batch.Status.IMPORTED,
        split=split.split,
        judgments_per_task=1,
        source_name=f"{validated.source.name}/{name}"[:500],
        uploaded_by=uploaded_by,
    )
    prompts: dict[str, Prompt] = {}
    for entry in split.entries:
        if entry.prompt not in prompts:
            prompts[entry.prompt] = Prompt(
                project=project,
                batch=batch,
                raw_text=entry.prompt,
                cleaned_text=entry.prompt,
                source="hpd-v2",
                line_number=entry.number,
            )
    Prompt.objects.bulk_create(prompts.values(), batch_size=5000)
    images: dict[str, Image] = {}
    for entry in split.entries:
        for path in entry.paths:
            member = f"{validated.prefix}{split.split}/{path}"
            if member in images:
                continue
            facts = validated.facts[member]
            images[member] = Image(
                project=project,
                prompt=prompts[entry.prompt],
                sha256=facts.sha256,
                file=media_path_for(facts.sha256, facts.extension),
                original_name=path[:500],
                format=facts.format,
                width=facts.width,
                height=facts.height,
                exif_orientation=facts.exif_orientation,
                byte_size=facts.byte_size,
            )
    Image.objects.bulk_create(images.values(), batch_size=5000)
    tasks = Task.objects.bulk_create(
        [
            Task(
                project=project,
                batch=batch,
                prompt=prompts[entry.prompt],
                judgments_wanted=len(entry.rankings),
                judgments_done=len(entry.rankings),
                released_rank=entry.released_rank,
            )
            for entry in split.entries
        ],
        batch_size=5000,
    )
    ids_of = [
        [images[f"{validated.prefix}{split.split}/{path}"].pk for path in entry.paths]
        for entry in split.entries
    ]
    TaskImage.objects.bulk_create(
        (
            TaskImage(task=task, image_id=image_id, position=position)
            for task, ids in zip(tasks, ids_of, strict=True)
            for position, image_id in enumerate(ids)
        ),
        batch_size=5000,
    )
    hashes = {h or TRAIN_ANNOTATOR for entry in split.entries for h in entry.user_hashes}
    users = _annotators(hashes)
    judgments: list[Judgment] = []
    for task, ids, entry in zip(tasks, ids_of, split.entries, strict=True):
        for ranks, user_hash in zip(entry.rankings, entry.user_hashes, strict=True):
            user = users[user_hash or TRAIN_ANNOTATOR]
            annotators.add(user.pk)
            judgments.append(
                Judgment(
                    task=task,
                    annotator=user,
                    ranking=[image_id for _, image_id in sorted(zip(ranks, ids, strict=True))],
                    guideline_version=project.guideline_version,
                )
            )
    Judgment.objects.bulk_create(judgments, batch_size=5000)
    PairJudgment.objects.bulk_create(
        (
            PairJudgment(
                project=project,
                judgment=judgment,
                task_id=judgment.task_id,
                annotator_id=judgment.annotator_id,
                winner_id=judgment.ranking[a],
                loser_id=judgment.ranking[b],
            )
            for judgment in judgments
            for a in range(len(judgment.ranking))
            for b in range(a + 1, len(judgment.ranking))
        ),
        batch_size=5000,
    )
    counts = {"prompt_count": len(prompts), "image_count": len(images), "task_count": len(tasks)}
    Batch.objects.filter(pk=batch.pk).update(**counts)
    totals["prompts"] += len(prompts)
    totals["images"] += len(images)
    totals["tasks"] += len(tasks)
    totals["judgments"] += len(judgments)
    return batch
