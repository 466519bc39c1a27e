"""A training cycle: start_cycle records a run (one live run per project), run_cycle
executes it under a lease, step by step, resumably.

start_cycle is what the periodic task, the model page and `manage.py run_cycle` call;
run_cycle is what the `training.run_cycle` task (gpu queue) and the command run.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import Project, User
from core.queueing import enqueue
from training import runner
from training.core import POLICY_KNOBS
from training.models import TrainingPolicy, TrainingRun
from training.services.lease import Heartbeat, release_lease, take_lease, this_process
from training.services.policy import judgment_tally, policy_for
from training.services.reporting import CycleReporter
from training.services.steps import (
    CycleFailed,
    decide_step,
    evaluate_step,
    export_step,
    register_step,
    train_step,
)

logger = logging.getLogger(__name__)

# The Celery task (training/tasks.py, `gpu` queue) that runs run_cycle, by its name.
RUN_CYCLE_TASK = "training.run_cycle"


@dataclass(frozen=True)
class CycleStart:
    """What start_cycle did: `run` is the new run (created) or the live one it found;
    None with the reason when the project is not due."""

    run: TrainingRun | None
    created: bool
    reason: str


def recipe_of(policy: TrainingPolicy) -> dict[str, Any]:
    """The policy's recipe knobs (training.core.POLICY_KNOBS), as a run keeps them."""
    return {name: getattr(policy, name) for name in POLICY_KNOBS}


def start_cycle(
    project: Project,
    *,
    trigger: str = TrainingRun.Trigger.SCHEDULE,
    requested_by: User | None = None,
    force: bool = False,
    enqueue: bool = True,
) -> CycleStart:
    """Record a queued run for the project when it is due (or `force`), else say why not.

    Locks the project's policy row (select_for_update) for the check-and-insert, so of
    two concurrent calls one creates the run and the other returns it; the partial
    unique constraint on live runs backs this up. Idempotent while a run is live: the
    live run is returned, nothing is created. The run keeps the policy's recipe and
    margin as they are now. With `enqueue`, `training.run_cycle` is queued after the
    commit (gpu queue).
    """
    policy_for(project)
    with transaction.atomic():
        policy = TrainingPolicy.objects.select_for_update().get(project=project)
        live = TrainingRun.objects.filter(project=project, status__in=TrainingRun.LIVE).first()
        if live is not None:
            return CycleStart(live, False, f"run {live.pk} is already {live.status}")
        tally = judgment_tally(project)
        needed = max(policy.min_new_judgments, 1)
        if tally.total == 0:
            return CycleStart(None, False, f"project {project.slug} has no judgments yet")
        if not force and tally.new < needed:
            return CycleStart(
                None,
                False,
                f"{tally.new} new judgment(s) since the last cycle; the policy waits for "
                f"{needed} (use --force to start anyway)",
            )
        task_id = str(uuid.uuid4())
        try:
            with transaction.atomic():
                run = TrainingRun.objects.create(
                    project=project,
                    trigger=trigger,
                    requested_by=requested_by,
                    celery_task_id=task_id if enqueue else "",
                    judgment_watermark=tally.watermark,
                    judgment_count=tally.total,
                    new_judgments=tally.new,
                    config={
                        "recipe": recipe_of(policy),
                        "promote_margin": policy.promote_margin,
                    },
                )
        except IntegrityError:
            live = TrainingRun.objects.filter(project=project, status__in=TrainingRun.LIVE).first()
            return CycleStart(live, False, "another cycle of this project started meanwhile")
        run.out_dir = str(Path(settings.TRAINING_ROOT) / project.slug / f"run-{run.pk}")
        run.save(update_fields=["out_dir"])
        if enqueue:
            run_id = run.pk
            transaction.on_commit(lambda: enqueue_run(run_id, task_id))
    return CycleStart(run, True, f"run {run.pk} queued")


def enqueue_run(run_id: int, task_id: str) -> None:
    """Queue training.run_cycle for a run under the Celery id the run recorded; when the
    broker cannot take it, the run fails with the reason (nothing sweeps training runs)."""
    if not enqueue(RUN_CYCLE_TASK, run_id, task_id=task_id):
        logger.warning("training run %s recorded, but the broker did not take it", run_id)
        TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.FAILED,
            error="could not be queued (the broker did not answer); start the cycle again",
            finished_at=timezone.now(),
        )


class _Progress:
    """The share of the current step, for the heartbeat: training reads metrics.jsonl."""

    def __init__(self, run_id: int):
        self.run_id = run_id

    def __call__(self) -> float | None:
        run = TrainingRun.objects.filter(pk=self.run_id).only("status", "out_dir", "config").get()
        if run.status != TrainingRun.Status.TRAINING:
            return None
        steps = run.config.get("recipe", {}).get("steps") or 0
        last = runner.last_logged_step(Path(run.out_dir) / "metrics.jsonl")
        return None if not steps or last is None else last / steps


def run_cycle(
    run_id: int, *, holder: str | None = None, reporter: CycleReporter | None = None
) -> TrainingRun:
    """Execute a run: export -> train -> evaluate -> register -> promote or not.

    Takes the run's lease first (training.services.lease): a finished run is returned
    unchanged; a run whose lease another live process holds raises LeaseHeld. Each
    step does only what the run has not recorded yet, so calling this again after a
    crash resumes the run, and calling it on a finished run changes nothing. A step's
    CycleFailed (or an unexpected error, re-raised) marks the run failed with the reason.
    An interrupted command (Ctrl-C) leaves the run live for the next call to resume.
    """
    holder = holder or this_process()
    reporter = reporter or CycleReporter()
    if not take_lease(run_id, holder):
        return TrainingRun.objects.get(pk=run_id)
    TrainingRun.objects.filter(pk=run_id, started_at__isnull=True).update(started_at=timezone.now())
    run = TrainingRun.objects.select_related(
        "project", "snapshot", "evaluation_snapshot", "candidate", "active_version", "requested_by"
    ).get(pk=run_id)
    margin = float(run.config.get("promote_margin", 0.0))
    steps = (
        lambda: export_step(run, reporter),
        lambda: train_step(run, reporter),
        lambda: evaluate_step(run, reporter),
        lambda: register_step(run, reporter),
        lambda: decide_step(run, reporter, margin),
    )
    with Heartbeat(run_id, holder, _Progress(run_id)) as heartbeat:
        try:
            for step in steps:
                if heartbeat.lost.is_set():
                    reporter.stage("another worker took the run over; stopping here")
                    return TrainingRun.objects.get(pk=run_id)
                step()
        except CycleFailed as exc:
            _finish(run_id, holder, TrainingRun.Status.FAILED, str(exc))
            reporter.stage(f"failed: {exc}")
            return TrainingRun.objects.get(pk=run_id)
        except KeyboardInterrupt:
            release_lease(run_id, holder)
            raise
        except BaseException as exc:
            _finish(
                run_id,
                holder,
                TrainingRun.Status.FAILED,
                f"stopped unexpectedly ({type(exc).__name__}: {exc}); see the worker log",
            )
            raise
    _finish(run_id, holder, TrainingRun.Status.SUCCEEDED, "")
    return TrainingRun.objects.get(pk=run_id)


def _finish(run_id: int, holder: str, status: str, error: str) -> None:
    fields: dict[str, Any] = {
        "status": status,
        "error": error,
        "finished_at": timezone.now(),
        "lease_holder": "",
        "lease_expires_at": None,
    }
    if status == TrainingRun.Status.SUCCEEDED:
        fields["progress"] = 1.0
    TrainingRun.objects.filter(pk=run_id, lease_holder=holder).update(**fields)


def run_summary(run: TrainingRun) -> dict[str, Any]:
    """The run as the command's last JSON line shows it."""
    return {
        "run": run.pk,
        "project": run.project.slug,
        "status": run.status,
        "snapshot": run.snapshot_id,
        "candidate": run.candidate.name if run.candidate else None,
        "step": run.final_step,
        "resumed_from_step": run.resumed_from_step,
        "candidate_accuracy": run.candidate_accuracy,
        "active_accuracy": run.active_accuracy,
        "base_accuracy": run.base_accuracy,
        "human_ceiling": run.human_ceiling,
        "promoted": run.promoted,
        "promotion_reason": run.promotion_reason,
        "error": run.error,
    }


__all__ = ["CycleStart", "run_cycle", "run_summary", "start_cycle"]
