"""What the model page charts: a run's loss curve and test accuracy over time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from annotation.models import Project
from training import runner
from training.models import TrainingRun

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
    """Test accuracy of each model version (and the base weights) at each finished run,
    with the human ceiling of the project's test split then."""

    labels: list[str]
    series: list[tuple[str, list[float | None]]]
    ceiling: list[float | None]


def accuracy_history(project: Project) -> AccuracyHistory:
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
