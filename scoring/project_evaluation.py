"""`manage.py evaluate --project SLUG`: a model version's accuracy on a project's own
test split, from the scores it stored (ImageScore), with the figures of
scoring/core/evaluation_stats.py: the release's ranking accuracy (inversion score, its
evaluate_rank), the pairwise accuracy and the ImageReward-style accuracy (a predicted
tie counts as wrong), overall, per style and per generator, each with a 95% bootstrap
interval over prompts.

The test data are the project's test-split tasks that are neither gold nor repeat items,
each with the judgments that count (annotation.quality counted_judgments, the export's
rule). A group's human ranks are the images' mean rank over those judgments: the
figures only compare ranks, so this orders the images exactly as the export's averaged
rank does (docs/hpd_v2.md). A group with an image the version has not scored is left
out and counted; no model is loaded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from annotation.models import Project, Split, Task, TaskImage
from annotation.quality import counted_judgments
from scoring.core.evaluation_stats import ScoredGroup, evaluate_groups
from scoring.models import ImageScore, ModelVersion
from scoring.services import ScoringError


@dataclass(frozen=True)
class ProjectTestGroups:
    groups: list[ScoredGroup]
    judged: int  # test groups with at least one counted judgment
    unscored: int  # of those, left out for an image without a score from the version
    precisions: list[str]  # what the used scores were made with ("" = not recorded)
    antialias: list[bool | None]


def project_test_groups(project: Project, version: ModelVersion) -> ProjectTestGroups:
    """The project's judged test groups scored by `version`, in task order."""
    tasks = Task.objects.filter(
        project=project, batch__split=Split.TEST, is_gold=False, repeat_of__isnull=True
    )
    rankings: dict[int, list[list[int]]] = defaultdict(list)
    for task_id, ranking in (
        counted_judgments(project, include_gold=False)
        .filter(task__in=tasks)
        .order_by("task_id", "pk")
        .values_list("task_id", "ranking")
    ):
        rankings[task_id].append(list(ranking))
    images: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for task_id, image_id, generator in (
        TaskImage.objects.filter(task_id__in=rankings)
        .order_by("task_id", "position")
        .values_list("task_id", "image_id", "image__generator")
    ):
        images[task_id].append((image_id, generator))
    every_image = [image_id for members in images.values() for image_id, _ in members]
    scores = {
        image_id: (score, precision, antialias)
        for image_id, score, precision, antialias in ImageScore.objects.filter(
            model_version=version, image_id__in=every_image
        ).values_list("image_id", "score", "precision", "antialias")
    }
    styles = dict(Task.objects.filter(pk__in=rankings).values_list("pk", "prompt__style"))
    groups: list[ScoredGroup] = []
    unscored = 0
    used: set[tuple[str, bool | None]] = set()
    for task_id in sorted(rankings):
        members = images[task_id]
        if any(image_id not in scores for image_id, _ in members):
            unscored += 1
            continue
        ids = [image_id for image_id, _ in members]
        if any(sorted(ranking) != sorted(ids) for ranking in rankings[task_id]):
            raise ScoringError(
                f"a judgment of task {task_id} does not rank every image of the task; "
                "fix or delete it in /admin/ and evaluate again"
            )
        mean_rank = [
            sum(ranking.index(image_id) + 1 for ranking in rankings[task_id])
            / len(rankings[task_id])
            for image_id in ids
        ]
        groups.append(
            ScoredGroup(
                scores=[scores[image_id][0] for image_id, _ in members],
                ranks=mean_rank,
                generators=[generator or "(unnamed)" for _, generator in members],
                style=styles[task_id] or None,
            )
        )
        used.update((scores[image_id][1], scores[image_id][2]) for image_id, _ in members)
    return ProjectTestGroups(
        groups=groups,
        judged=len(rankings),
        unscored=unscored,
        precisions=sorted({precision for precision, _ in used}),
        antialias=sorted({antialias for _, antialias in used}, key=lambda a: (a is None, a)),
    )


def evaluate_project(
    project_slug: str, version: ModelVersion, *, resamples: int, seed: int
) -> dict[str, Any]:
    """The evaluate command's JSON object for a project's test split; raises ScoringError
    saying what is missing when the project has no test data or no scores."""
    project = Project.objects.filter(slug=project_slug).first()
    if project is None:
        raise ScoringError(f"there is no project {project_slug!r}; check the slug")
    found = project_test_groups(project, version)
    if not found.judged:
        raise ScoringError(
            f"project {project.slug} has no test data: no test-split task has a counted "
            "judgment yet (import a batch with split test and have it judged)"
        )
    if not found.groups:
        raise ScoringError(
            f"none of the {found.judged} judged test group(s) of project {project.slug} is "
            f"scored by {version.name}: its images have no scores from that version "
            "(activating a version queues the scoring of every image; name a version that "
            "scored them with --model-version)"
        )
    report = evaluate_groups(found.groups, resamples=resamples, seed=seed)
    return {
        "model": version.name,
        "project": project.slug,
        "precision": found.precisions[0] if len(found.precisions) == 1 else found.precisions,
        "antialias": found.antialias[0] if len(found.antialias) == 1 else found.antialias,
        **report.as_json(),
        "unscored_groups": found.unscored,
    }
