"""What the model page charts: a run's loss curve and test accuracy over time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from annotation.models import Project
from training import runner
from training.models import FrozenEvaluation, TrainingRun
from training.services.evaluation_set import FrozenSet, frozen_set, project_versions

MAX_POINTS = 200


def loss_curve(run: TrainingRun) -> list[tuple[int, float]]:
    """(step, loss) of the run's metrics.jsonl, one point per step (the last logged for
    a step that was logged twice around a restart), thinned to at most MAX_POINTS."""
    if not run.out_dir:
        return []
    by_step: dict[int, float] = {}
    for row in runner.read_metrics(Path(run.out_dir) / "metrics.jsonl"):
        step, loss = row.get("step"), row.get("loss")
        if isinstance(step, int) and isinstance(loss, int | float):
            by_step[step] = float(loss)
    points = sorted(by_step.items())
    if len(points) > MAX_POINTS:
        stride = -(-len(points) // MAX_POINTS)
        points = points[::stride] + ([points[-1]] if (len(points) - 1) % stride else [])
    return points


@dataclass(frozen=True)
class AccuracyHistory:
    """Test accuracy of each model version (and the base weights) with the human ceiling
    beside it, and which set it was measured on (`measured_on`).

    With a frozen evaluation set (training.services.evaluation_set) the x positions are
    the base weights then the project's versions, oldest first, every figure measured on
    the set's test.json and the ceiling that of the same groups; `pending` counts the
    versions not measured on it yet. Without one, the positions are the finished runs,
    each measured on its own snapshot's test split with the ceiling of the project's test
    split then."""

    labels: list[str]
    series: list[tuple[str, list[float | None]]]
    ceiling: list[float | None]
    measured_on: str = "each run's own snapshot test split"
    frozen: bool = False
    pending: int = 0


def accuracy_history(project: Project) -> AccuracyHistory:
    frozen = frozen_set(project)
    if frozen is not None:
        return _frozen_history(project, frozen)
    runs = list(
        TrainingRun.objects.filter(project=project, candidate_accuracy__isnull=False)
        .select_related("candidate", "active_version")
        .order_by("created_at", "pk")
    )
    labels = [f"run {run.pk} {run.created_at:%Y-%m-%d}" for run in runs]
    named: dict[str, list[float | None]] = {}

    def put(name: str, index: int, value: float | None) -> None:
        if value is not None:
            named.setdefault(name, [None] * len(runs))[index] = value

    for index, run in enumerate(runs):
        candidate = run.candidate.name if run.candidate else f"run {run.pk} candidate"
        put(candidate, index, run.candidate_accuracy)
        if run.active_version is not None:
            put(run.active_version.name, index, run.active_accuracy)
        put("base weights", index, run.base_accuracy)
    return AccuracyHistory(
        labels=labels,
        series=list(named.items()),
        ceiling=[run.human_ceiling for run in runs],
    )


def _frozen_history(project: Project, frozen: FrozenSet) -> AccuracyHistory:
    measured = {
        row.version_id: row.accuracy
        for row in FrozenEvaluation.objects.filter(project=project, snapshot=frozen.snapshot)
    }
    versions = project_versions(project)
    labels: list[str] = []
    values: list[float | None] = []
    if None in measured:
        labels.append("base weights")
        values.append(measured[None])
    for version in versions:
        if version.pk in measured:
            labels.append(f"{version.name} {version.created_at:%Y-%m-%d}")
            values.append(measured[version.pk])
    return AccuracyHistory(
        labels=labels,
        series=[("accuracy on the frozen set", values)],
        ceiling=[frozen.ceiling] * len(labels),
        measured_on=frozen.label,
        frozen=True,
        pending=sum(1 for version in versions if version.pk not in measured),
    )
