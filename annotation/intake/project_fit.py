"""Whether a validated batch fits the project it is imported into, and the project row
that an import holds while it writes.

One set of checks for every import format (manifest.jsonl batches and HPD v2 release
folders): a pairwise project takes only groups of two images, an image's bytes are
imported into a project once, and train and test never share a prompt. Each problem
names the place in the upload where the user finds it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings

from annotation.intake.image_checks import ImageFacts
from annotation.intake.problems import Problem
from annotation.models import Image, Project, ProjectRole, Prompt, Split, TaskType, User
from annotation.projects import add_member


@dataclass(frozen=True)
class IncomingGroup:
    """One prompt group of an upload, as the project checks need it."""

    place: str  # where the user finds it: "manifest.jsonl line 3", "test.json entry 12"
    prompt: str
    image_count: int
    split: str


def problems_with_project(
    groups: Iterable[IncomingGroup], facts: Mapping[str, ImageFacts], project: Project
) -> list[Problem]:
    """Every reason the groups (and their images, member -> facts) cannot join `project`:
    groups that are not pairs in a pairwise project, images it already holds, prompts in
    its other split (each reported at the first place it occurs). Reads only."""
    groups = list(groups)
    problems: list[Problem] = []
    if project.task_type == TaskType.PAIRWISE:
        problems += [
            Problem(
                group.place,
                f"has {group.image_count} images but project {project.slug!r} is "
                "pairwise (2 images per group); import it into a ranking project",
            )
            for group in groups
            if group.image_count != 2
        ]
    problems += already_imported(facts, project)
    for split in dict.fromkeys(group.split for group in groups):
        places: dict[str, str] = {}
        for group in groups:
            if group.split == split:
                places.setdefault(group.prompt, group.place)
        problems += shared_with_other_split(places, split, project)
    return problems


def already_imported(facts: Mapping[str, ImageFacts], project: Project) -> list[Problem]:
    """A problem for each image (member -> facts) whose bytes the project already holds."""
    by_sha = {image.sha256: member for member, image in facts.items()}
    existing = Image.objects.filter(project=project, sha256__in=list(by_sha)).values_list(
        "sha256", "prompt__batch_id"
    )
    return [
        Problem(
            by_sha[sha],
            f"is already in project {project.slug!r} (batch {batch_id}); "
            "each image may be imported once",
        )
        for sha, batch_id in existing
    ]


def shared_with_other_split(
    places: Mapping[str, str], split: str, project: Project
) -> list[Problem]:
    """A problem for each prompt (text -> where it is) already in the project's other split:
    train and test never share a prompt."""
    other = Split.TEST if split == Split.TRAIN else Split.TRAIN
    shared = (
        Prompt.objects.filter(project=project, batch__split=other, raw_text__in=list(places))
        .values_list("raw_text", flat=True)
        .distinct()
    )
    return [
        Problem(
            places[text],
            f"this prompt is already in the {other} split of project {project.slug!r}; "
            "train and test must not share a prompt",
        )
        for text in shared
    ]


def locked_project(
    slug: str,
    sizes: set[int],
    judgments_per_task: int | None,
    uploaded_by: User | None,
    max_judgments_per_task: int | None = None,
) -> tuple[Project, bool]:
    """The project `slug`, locked (`Project.objects.locked()`: submits go on meanwhile),
    or a new one shaped by the batch's group sizes (pairwise when every group has two
    images) with the batch's minimum and maximum judgments per task; and whether it
    was created."""
    project = Project.objects.locked().filter(slug=slug).first()
    if project is not None:
        return project, False
    project = Project.objects.create(
        slug=slug,
        name=slug.replace("-", " ").replace("_", " ").capitalize(),
        task_type=TaskType.PAIRWISE if sizes == {2} else TaskType.RANKING,
        images_per_task=max(sizes),
        judgments_per_task=judgments_per_task or settings.DEFAULT_JUDGMENTS_PER_TASK,
        max_judgments_per_task=max_judgments_per_task,
        guideline_version=settings.GUIDELINE_VERSION,
        lease_seconds=settings.DEFAULT_LEASE_SECONDS,
        created_by=uploaded_by,
    )
    if uploaded_by is not None:  # a new project starts with its creator as manager
        add_member(project, uploaded_by, ProjectRole.MANAGER)
    return project, True


def widen_project(project: Project, sizes: set[int]) -> None:
    """A ranking project grows to hold the batch's largest group."""
    if project.task_type == TaskType.RANKING and max(sizes) > project.images_per_task:
        project.images_per_task = max(sizes)
        project.save(update_fields=["images_per_task"])
