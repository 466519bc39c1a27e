"""A project's frozen evaluation set: one pinned snapshot whose test.json every model
version, old and new, is measured on, with the human ceiling of the same groups.

Without a frozen set each run is evaluated on its own snapshot's test split, which grows
from run to run, so the points of the accuracy-over-time chart are not measured on the
same thing. freeze_evaluation_set pins a snapshot (and computes its ceiling) under the
policy's row lock, then queues EVALUATE_FROZEN_SET_TASK, which measures every version of
the project not yet measured on it (evaluate_frozen_set); a cycle's evaluate step
measures its candidate, the active version and the base weights on the same file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.export import create_export, export_snapshot
from annotation.models import ExportSnapshot, Project, Split, User
from annotation.quality import counted_judgments, ranked_groups_ceiling
from core.queueing import enqueue
from scoring.errors import ModelLoadError
from scoring.models import ModelVersion
from scoring.queries import active_model_version
from training import runner
from training.models import FrozenEvaluation, TrainingPolicy, TrainingRun
from training.services.weights import (
    Weights,
    WeightsNotConfigured,
    base_configured,
    base_weights,
    version_weights,
)

EVALUATE_FROZEN_SET_TASK = "training.evaluate_frozen_set"
# A new evaluation set: the test split only, gold pairs left out as a cycle's export does.
EVALUATION_EXPORT: dict[str, Any] = {"split": "test", "exclude_gold": True}


class EvaluationSetError(Exception):
    """The set cannot be frozen or measured; the message says why and what to do."""


@dataclass(frozen=True)
class FrozenSet:
    snapshot: ExportSnapshot
    ceiling: float | None
    groups: int
    frozen_at: Any

    @property
    def test_json(self) -> Path:
        return Path(self.snapshot.path) / "test.json"

    @property
    def label(self) -> str:
        return f"frozen evaluation set: snapshot {self.snapshot.pk}, {self.groups} test group(s)"


def frozen_set(project: Project) -> FrozenSet | None:
    """The project's frozen evaluation set, or None when none is pinned."""
    policy = (
        TrainingPolicy.objects.filter(project=project).select_related("evaluation_snapshot").first()
    )
    if policy is None or policy.evaluation_snapshot is None:
        return None
    snapshot = policy.evaluation_snapshot
    groups = int((snapshot.counts or {}).get("splits", {}).get("test", {}).get("tasks", 0))
    return FrozenSet(snapshot, policy.evaluation_ceiling, groups, policy.evaluation_frozen_at)


def eligible_snapshots(project: Project) -> list[ExportSnapshot]:
    """The project's finished snapshots holding judged test groups, newest first."""
    return [
        snapshot
        for snapshot in ExportSnapshot.objects.filter(
            project=project, status=ExportSnapshot.Status.DONE
        ).order_by("-created_at", "-pk")
        if (snapshot.counts or {}).get("splits", {}).get("test", {}).get("tasks")
    ]


def _test_json_of(snapshot: ExportSnapshot, project: Project) -> Path:
    if snapshot.project_id != project.pk:
        raise EvaluationSetError(
            f"snapshot {snapshot.pk} belongs to another project; pick one of "
            f"project {project.slug}'s snapshots"
        )
    if snapshot.status != ExportSnapshot.Status.DONE:
        raise EvaluationSetError(
            f"snapshot {snapshot.pk} is {snapshot.status}, not done; wait for it or pick "
            "another snapshot"
        )
    if not (snapshot.counts or {}).get("splits", {}).get("test", {}).get("tasks"):
        raise EvaluationSetError(
            f"snapshot {snapshot.pk} holds no judged test groups; pick a snapshot with a "
            "test split, or freeze a new one of the current test split"
        )
    test_json = Path(snapshot.path) / "test.json"
    if not test_json.is_file():
        raise EvaluationSetError(
            f"the test.json of snapshot {snapshot.pk} is missing from {snapshot.path}; "
            "keep EXPORT_ROOT on lasting storage, or freeze a new snapshot"
        )
    return test_json


def ceiling_of(test_json: Path) -> float | None:
    """The human ceiling of a test.json's groups, from their raw annotations."""
    try:
        entries = json.loads(test_json.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EvaluationSetError(f"{test_json} cannot be read ({exc}); export again") from exc
    return ranked_groups_ceiling(
        [annotation["rank"] for annotation in entry.get("raw_annotations", [])] for entry in entries
    )


def freeze_evaluation_set(
    project: Project, snapshot_id: int | None = None, *, user: User | None = None
) -> FrozenSet:
    """Pin `snapshot_id` (None: a new export of the project's test split, written now) as
    the project's evaluation set, with its human ceiling, and queue the measuring of
    every model version on it after the commit. Locks the policy row. Raises
    EvaluationSetError, changing nothing, when the snapshot cannot serve."""
    if snapshot_id is None:
        judged = counted_judgments(project, include_gold=False).filter(
            task__batch__split=Split.TEST
        )
        if not judged.exists():
            raise EvaluationSetError(
                f"project {project.slug} has no judged test groups to freeze; import a "
                "held-out batch with --split test and have it judged"
            )
        snapshot = create_export(project, EVALUATION_EXPORT, created_by=user, enqueue=False)
        export_snapshot(snapshot.pk)
        snapshot.refresh_from_db()
    else:
        found = ExportSnapshot.objects.filter(pk=snapshot_id).first()
        if found is None:
            raise EvaluationSetError(f"there is no snapshot {snapshot_id}")
        snapshot = found
    ceiling = ceiling_of(_test_json_of(snapshot, project))
    TrainingPolicy.objects.get_or_create(project=project)  # the defaults, as policy_for
    with transaction.atomic():
        policy = TrainingPolicy.objects.select_for_update().get(project=project)
        policy.evaluation_snapshot = snapshot
        policy.evaluation_ceiling = ceiling
        policy.evaluation_frozen_at = timezone.now()
        policy.save(
            update_fields=[
                "evaluation_snapshot",
                "evaluation_ceiling",
                "evaluation_frozen_at",
                "updated_at",
            ]
        )
        transaction.on_commit(partial(enqueue, EVALUATE_FROZEN_SET_TASK, project.pk))
    found_set = frozen_set(project)
    assert found_set is not None
    return found_set


def project_versions(project: Project) -> list[ModelVersion]:
    """The model versions the project's chart shows: every run's candidate, the versions
    its runs started from or compared with, and the active version; oldest first."""
    ids: set[int] = set()
    for row in TrainingRun.objects.filter(project=project).values_list(
        "candidate_id", "starting_version_id", "active_version_id"
    ):
        ids.update(pk for pk in row if pk is not None)
    active = active_model_version()
    if active is not None:
        ids.add(active.pk)
    return list(ModelVersion.objects.filter(pk__in=ids).order_by("created_at", "pk"))


def accuracy_on(weights: Weights, test_json: Path) -> float:
    """HPD v2 ranking accuracy of the weights on a test.json, on TRAINING_DEVICE."""
    try:
        return runner.evaluate(
            weights.model,
            weights.checkpoint,
            test_json,
            pretrained=weights.pretrained,
            device=settings.TRAINING_DEVICE or None,
            batch_size=settings.TRAINING_EVAL_BATCH_SIZE,
        )
    except (runner.TrainingFailed, ModelLoadError, ValueError, OSError) as exc:
        raise EvaluationSetError(f"evaluating {weights.label} failed: {exc}") from exc


def record_frozen_accuracy(
    project: Project, snapshot: ExportSnapshot, version: ModelVersion | None, accuracy: float
) -> None:
    """Keep one accuracy per (set, version); a second measure of the same pair is dropped."""
    try:
        with transaction.atomic():
            FrozenEvaluation.objects.create(
                project=project, snapshot=snapshot, version=version, accuracy=accuracy
            )
    except IntegrityError:
        pass  # measured already (by a cycle or a redelivered task): the figure is the same


def evaluate_frozen_set(project: Project, config_folder: Path | None = None) -> int:
    """Measure every version of the project (and the base weights, when configured) not
    yet measured on its frozen set; return how many were measured. Holds no transaction
    while evaluating, so it can be run again after a kill."""
    frozen = frozen_set(project)
    if frozen is None:
        return 0
    test_json = _test_json_of(frozen.snapshot, project)
    done = set(
        FrozenEvaluation.objects.filter(snapshot=frozen.snapshot).values_list(
            "version_id", flat=True
        )
    )
    folder = config_folder or Path(settings.TRAINING_ROOT) / "frozen-evaluation"
    measured = 0
    if None not in done and base_configured():
        try:
            weights = base_weights()
        except WeightsNotConfigured as exc:
            raise EvaluationSetError(str(exc)) from exc
        record_frozen_accuracy(project, frozen.snapshot, None, accuracy_on(weights, test_json))
        measured += 1
    for version in project_versions(project):
        if version.pk in done:
            continue
        accuracy = accuracy_on(version_weights(version, folder), test_json)
        record_frozen_accuracy(project, frozen.snapshot, version, accuracy)
        measured += 1
    return measured
