"""The steps of a training cycle. Each is idempotent: it first looks at what the run
already recorded and does only what is missing, so a redelivered task resumes a run.

Every step runs under the run's lease (training.services.lease); none holds a database
transaction while it exports, trains or evaluates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from annotation.export import create_export, export_snapshot
from annotation.models import ExportSnapshot
from annotation.quality import compute_agreement
from scoring.errors import ModelLoadError
from scoring.models import ModelVersion
from scoring.queries import active_model_version
from scoring.services import ScoringError, activate, register_model_version
from training import runner
from training.core import parse_generator_names
from training.models import TrainingRun
from training.services.evaluation_set import (
    EvaluationSetError,
    accuracy_on,
    ceiling_of,
    frozen_set,
    record_frozen_accuracy,
)
from training.services.reporting import CycleReporter
from training.services.weights import (
    Weights,
    WeightsNotConfigured,
    base_configured,
    base_weights,
    version_weights,
)

# What a cycle exports: every split; gold pairs (an image against a degraded copy) are a
# quality check of annotators, not preferences to learn.
EXPORT_PARAMETERS: dict[str, Any] = {"split": "all", "exclude_gold": True}


class CycleFailed(Exception):
    """The cycle cannot go on; the message (recorded on the run) says why and what to do."""


def _save(run: TrainingRun, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(run, name, value)
    TrainingRun.objects.filter(pk=run.pk).update(**fields)


def export_step(run: TrainingRun, reporter: CycleReporter) -> ExportSnapshot:
    """Export the project's snapshot once: the run's snapshot is created and recorded in
    one transaction (under the run's row lock), then written by the export service,
    which does nothing to a snapshot already done."""
    _save(run, status=TrainingRun.Status.EXPORTING, progress=0.0)
    if run.snapshot_id is None:
        with transaction.atomic():
            locked = TrainingRun.objects.select_for_update().get(pk=run.pk)
            if locked.snapshot_id is None:
                snapshot = create_export(
                    run.project, EXPORT_PARAMETERS, created_by=run.requested_by, enqueue=False
                )
                locked.snapshot = snapshot
                locked.save(update_fields=["snapshot"])
            run.snapshot_id = locked.snapshot_id
    reporter.stage(f"exporting snapshot {run.snapshot_id}")
    assert run.snapshot_id is not None
    export_snapshot(run.snapshot_id, reporter.export)
    snapshot = ExportSnapshot.objects.get(pk=run.snapshot_id)
    run.snapshot = snapshot
    if snapshot.status == ExportSnapshot.Status.FAILED:
        raise CycleFailed(f"the export (snapshot {snapshot.pk}) failed: {snapshot.error}")
    if snapshot.status != ExportSnapshot.Status.DONE:
        raise CycleFailed(
            f"snapshot {snapshot.pk} is still being written by another process; "
            "start the cycle again when it is done"
        )
    if not (Path(snapshot.path) / "train.json").is_file():
        raise CycleFailed(
            f"the files of snapshot {snapshot.pk} are missing from {snapshot.path}; keep "
            "EXPORT_ROOT on storage that outlives the worker, then start a new cycle"
        )
    splits = (snapshot.counts or {}).get("splits", {})
    if not splits.get("train", {}).get("pairs"):
        raise CycleFailed(
            f"project {run.project.slug} has no judged train pairs to learn from; import "
            "a train batch and collect judgments first"
        )
    if not splits.get("test", {}).get("tasks"):
        raise CycleFailed(
            f"project {run.project.slug} has no judged test groups, so no model can be "
            "evaluated; import a held-out batch with --split test and have it judged"
        )
    return snapshot


def _starting_weights(run: TrainingRun) -> Weights:
    """The weights the run fine-tunes from, chosen once and recorded in run.config:
    the active version's, else the base weights."""
    recorded = run.config.get("start")
    if recorded:
        return Weights.from_json(recorded)
    active = active_model_version()
    try:
        weights = version_weights(active, Path(run.out_dir)) if active else base_weights()
    except WeightsNotConfigured as exc:
        raise CycleFailed(str(exc)) from exc
    _save(run, starting_version=active, config={**run.config, "start": weights.as_json()})
    return weights


def _processes() -> int:
    try:
        return runner.process_count(settings.TRAINING_GPUS)
    except runner.TrainingFailed as exc:
        raise CycleFailed(str(exc)) from exc


def train_step(run: TrainingRun, reporter: CycleReporter) -> None:
    """Fine-tune into the run's out_dir with resume="latest": a restarted run continues
    from its last checkpoint (recorded as resumed_from_step); a finished one is only read.
    Before the first step the project's frozen evaluation set, if any, is recorded on the
    run: the run is evaluated on its test.json instead of the snapshot's."""
    _save(run, status=TrainingRun.Status.TRAINING, progress=0.0)
    if run.final_step is None:
        claim_out_dir(run, Path(run.out_dir))
    start = _starting_weights(run)
    if run.final_step is not None:
        return
    snapshot_root = Path(run.snapshot.path)  # type: ignore[union-attr]
    out_dir = Path(run.out_dir)
    if run.evaluation_snapshot_id is None and runner.checkpoint_step(out_dir) is None:
        frozen = frozen_set(run.project)  # chosen once, before the first step
        if frozen is not None:
            _save(run, evaluation_snapshot=frozen.snapshot)
    test_root = Path(run.evaluation_snapshot.path) if run.evaluation_snapshot else snapshot_root
    job = runner.TrainingJob(
        train_json=snapshot_root / "train.json",
        test_json=test_root / "test.json",
        model=start.model,
        out_dir=out_dir,
        checkpoint=start.checkpoint,
        pretrained=start.pretrained,
        device=settings.TRAINING_DEVICE or None,
        progress=reporter.training_bar,
        recipe=run.config.get("recipe", {}),
    )
    processes = _processes()
    resumed = runner.checkpoint_step(out_dir)
    if resumed is not None:
        _save(run, resumed_from_step=resumed)
        reporter.stage(f"resuming training from step {resumed} in {out_dir}")
    else:
        reporter.stage(f"training from {start.label} in {out_dir} ({processes} process(es))")
    try:
        outcome = runner.train(job, processes)
    except (runner.TrainingFailed, ModelLoadError, ValueError, OSError) as exc:
        raise CycleFailed(f"training failed: {exc}") from exc
    _save(
        run,
        final_step=outcome.step,
        final_loss=outcome.final_loss,
        candidate_accuracy=outcome.test_accuracy,
        progress=1.0,
        config={
            **run.config,
            "checkpoint": str(outcome.checkpoint),
            "model_config": outcome.model_config,
            "metrics": str(outcome.metrics_path),
        },
    )


def claim_out_dir(run: TrainingRun, out_dir: Path) -> None:
    """Mark out_dir as this run's (run.json) before training there, and refuse a folder
    holding another run's files (a restored database reusing run ids, a moved
    TRAINING_ROOT): resuming from its checkpoint would train the wrong run."""
    owner = {"run": run.pk, "project": run.project.slug, "created_at": run.created_at.isoformat()}
    marker = out_dir / "run.json"
    if marker.is_file():
        try:
            found = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            found = None
        if found != owner:
            raise CycleFailed(
                f"{out_dir} belongs to another training run ({marker} says {found}); move "
                "that folder away or point TRAINING_ROOT elsewhere, then start a new cycle"
            )
        return
    if out_dir.exists() and any(out_dir.iterdir()):
        raise CycleFailed(
            f"{out_dir} already holds files of an unknown run; move that folder away or "
            "point TRAINING_ROOT elsewhere, then start a new cycle"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(owner, sort_keys=True), encoding="utf-8")


def _accuracy(weights: Weights, test_json: Path) -> float:
    try:
        return accuracy_on(weights, test_json)
    except EvaluationSetError as exc:
        raise CycleFailed(str(exc)) from exc


def held_out_of(run: TrainingRun) -> list[str]:
    """The generators the run kept out of training (its recipe's hold_out_generators)."""
    text = str(run.config.get("recipe", {}).get("hold_out_generators") or "")
    return sorted(parse_generator_names(text))


def _by_generator(run: TrainingRun, test_json: Path) -> dict[str, Any] | None:
    """The candidate's accuracy per generator and on seen vs held-out generators
    (runner.generator_accuracy); None when the test images' generators are unknown."""
    weights = candidate_weights(run)
    try:
        return runner.generator_accuracy(
            weights.model,
            weights.checkpoint,
            test_json,
            held_out_of(run),
            device=settings.TRAINING_DEVICE or None,
            batch_size=settings.TRAINING_EVAL_BATCH_SIZE,
        )
    except (runner.TrainingFailed, ModelLoadError, ValueError, OSError) as exc:
        raise CycleFailed(f"evaluating the candidate per generator failed: {exc}") from exc


def candidate_weights(run: TrainingRun) -> Weights:
    start = Weights.from_json(run.config["start"])
    return Weights(
        label="candidate",
        model=start.model,
        checkpoint=Path(run.config["checkpoint"]),
        pretrained=None,
        architecture=start.architecture,
        model_config=start.model_config or run.config.get("model_config") or None,
    )


def evaluate_step(run: TrainingRun, reporter: CycleReporter) -> None:
    """Test accuracy of the candidate, the active version and the base weights, and the
    human ceiling beside them: on the project's frozen evaluation set when one is pinned
    (training.services.evaluation_set; the set is recorded on the run), else on the
    snapshot's test.json with the ceiling of the project's test split. Each figure is
    computed once; the active version compared with is the one active at this step."""
    _save(run, status=TrainingRun.Status.EVALUATING, progress=0.0)
    if run.evaluation_snapshot is not None:
        test_json = Path(run.evaluation_snapshot.path) / "test.json"
        reporter.stage(f"evaluating on frozen evaluation set {run.evaluation_snapshot_id}")
    else:
        test_json = Path(run.snapshot.path) / "test.json"  # type: ignore[union-attr]
    if run.candidate_accuracy is None:
        reporter.stage("evaluating the candidate")
        _save(run, candidate_accuracy=_accuracy(candidate_weights(run), test_json))
    if "by_generator" not in run.config:
        reporter.stage("measuring the candidate's accuracy per generator")
        _save(run, config={**run.config, "by_generator": _by_generator(run, test_json)})
    _save(run, progress=0.34)
    if run.active_version_id is None and not run.promotion_reason:
        active = active_model_version()
        if active is not None:
            _save(run, active_version=active)
    if run.active_version is not None and run.active_accuracy is None:
        reporter.stage(f"evaluating the active version {run.active_version.name}")
        weights = version_weights(run.active_version, Path(run.out_dir))
        _save(run, active_accuracy=_accuracy(weights, test_json))
    _save(run, progress=0.67)
    if run.base_accuracy is None and base_configured():
        reporter.stage("evaluating the base weights")
        try:
            weights = base_weights()
        except WeightsNotConfigured as exc:
            raise CycleFailed(str(exc)) from exc
        _save(run, base_accuracy=_accuracy(weights, test_json))
    if run.human_ceiling is None:
        if run.evaluation_snapshot is not None:
            try:
                ceiling = ceiling_of(test_json)
            except EvaluationSetError as exc:
                raise CycleFailed(str(exc)) from exc
        else:
            ceiling = compute_agreement(run.project, split="test").get("human_ceiling")
        _save(run, human_ceiling=ceiling)
    if run.evaluation_snapshot is not None:
        snapshot = run.evaluation_snapshot
        if run.active_version is not None and run.active_accuracy is not None:
            record_frozen_accuracy(run.project, snapshot, run.active_version, run.active_accuracy)
        if run.base_accuracy is not None:
            record_frozen_accuracy(run.project, snapshot, None, run.base_accuracy)
    _save(run, progress=1.0)


def candidate_name(run: TrainingRun) -> str:
    return f"{run.project.slug}-run-{run.pk}"


def register_step(run: TrainingRun, reporter: CycleReporter) -> ModelVersion:
    """Register the candidate once. The version is named after the run, and the name is
    looked up first, so a run killed between registering and recording it adopts its
    version rather than registering a second one."""
    if run.candidate_id is not None:
        return run.candidate  # type: ignore[return-value]
    reporter.stage("registering the candidate")
    weights = candidate_weights(run)
    name = candidate_name(run)
    metrics = {
        "test_accuracy": run.candidate_accuracy,
        "active_accuracy": run.active_accuracy,
        "base_accuracy": run.base_accuracy,
        "human_ceiling": run.human_ceiling,
        "project": run.project.slug,
        "snapshot": run.snapshot_id,
        "evaluation_snapshot": run.evaluation_snapshot_id,
        "training_run": run.pk,
        "step": run.final_step,
        "final_loss": run.final_loss,
    }
    with transaction.atomic():
        locked = TrainingRun.objects.select_for_update().get(pk=run.pk)
        if locked.candidate_id is None:
            version = ModelVersion.objects.filter(name=name).first()
            if version is None:
                try:
                    version = register_model_version(
                        name,
                        weights.architecture,
                        weights.checkpoint or "",
                        source=f"training run {run.pk} of project {run.project.slug} on "
                        f"snapshot {run.snapshot_id}",
                        metrics=metrics,
                        model_config=weights.model_config,
                        created_by=run.requested_by,
                    )
                except ScoringError as exc:
                    raise CycleFailed(f"registering the candidate failed: {exc}") from exc
            locked.candidate = version
            locked.save(update_fields=["candidate"])
        run.candidate = locked.candidate
        if run.evaluation_snapshot is not None and run.candidate_accuracy is not None:
            record_frozen_accuracy(
                run.project, run.evaluation_snapshot, run.candidate, run.candidate_accuracy
            )
    return run.candidate  # type: ignore[return-value]


def decide_step(run: TrainingRun, reporter: CycleReporter, margin: float) -> None:
    """Promote the candidate when candidate >= reference + margin, where the reference
    is the active version's accuracy (no active version: the base weights'). The
    decision and its reason are recorded once; activation and the record commit together."""
    if run.promotion_reason:
        return
    candidate = run.candidate
    assert candidate is not None and run.candidate_accuracy is not None
    accuracy = run.candidate_accuracy
    if run.active_version is not None and run.active_accuracy is not None:
        reference, against = run.active_accuracy, f"the active version {run.active_version.name}"
    elif run.base_accuracy is not None:
        reference, against = run.base_accuracy, "the base weights (no version was active)"
    else:
        reference, against = None, ""
    if reference is None:
        promote, reason = True, "no active version and no base weights to compare with"
    elif accuracy >= reference + margin:
        promote = True
        reason = (
            f"test accuracy {accuracy:.4f} >= {reference:.4f} of {against} + margin {margin:.4f}"
        )
    else:
        promote = False
        reason = (
            f"not promoted: test accuracy {accuracy:.4f} < {reference:.4f} of {against} "
            f"+ margin {margin:.4f}"
        )
    reporter.stage(reason)
    try:
        with transaction.atomic():
            if promote:
                activate(candidate.pk)
            _save(run, promoted=promote, promotion_reason=reason)
    except ScoringError as exc:
        _save(run, promoted=False, promotion_reason=f"not promoted: activation failed: {exc}")
