"""What the model page shows of generalisation: each model version's pairwise accuracy
per generator, the generators its run held out of training marked, and its accuracy on
seen vs held-out generators (measured by the cycle's evaluate step, training/services/
steps.py, and kept in the run's config)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from training.models import TrainingRun


@dataclass(frozen=True)
class Cell:
    """One pairwise accuracy with its 95% bootstrap interval over prompts."""

    value: float
    ci_low: float
    ci_high: float
    pairs: int
    held_out: bool = False


@dataclass(frozen=True)
class GeneratorRow:
    label: str  # the model version's name, or the run's candidate before registration
    held_out: list[str]
    cells: list[Cell | None]  # one per generator of the table, None where not measured
    seen: Cell | None
    unseen: Cell | None


@dataclass(frozen=True)
class GeneratorTable:
    generators: list[str]
    rows: list[GeneratorRow]


def _cell(figures: Any, held_out: bool = False) -> Cell | None:
    estimate = figures.get("pairwise_accuracy") if isinstance(figures, dict) else None
    if not isinstance(estimate, dict):
        return None
    return Cell(
        float(estimate["value"]),
        float(estimate["ci_low"]),
        float(estimate["ci_high"]),
        int(estimate["pairs"]),
        held_out,
    )


def generator_table(runs: Iterable[TrainingRun]) -> GeneratorTable:
    """The per-generator accuracy of each run's candidate that was measured, newest first."""
    measured = [
        (run, run.config["by_generator"])
        for run in runs
        if isinstance(run.config.get("by_generator"), dict)
    ]
    generators = sorted({name for _, found in measured for name in found["by_generator"]})
    rows = []
    for run, found in measured:
        held_out = list(found.get("held_out_generators") or [])
        by_name = found["by_generator"]
        exposure = found.get("by_exposure") or {}
        rows.append(
            GeneratorRow(
                label=run.candidate.name if run.candidate else f"run {run.pk} candidate",
                held_out=held_out,
                cells=[
                    _cell(by_name.get(name), name in held_out) if name in by_name else None
                    for name in generators
                ],
                seen=_cell(exposure.get("seen")),
                unseen=_cell(exposure.get("held_out")),
            )
        )
    return GeneratorTable(generators, rows)
