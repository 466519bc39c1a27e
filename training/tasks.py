"""Celery tasks of the learning loop. Thin: they take ids and call services."""

from __future__ import annotations

import logging

from celery import Task, shared_task

from annotation.models import Project
from training.models import TrainingRun
from training.services.cycle import RUN_CYCLE_TASK, run_cycle, start_cycle
from training.services.evaluation_set import EVALUATE_FROZEN_SET_TASK, evaluate_frozen_set
from training.services.lease import LeaseHeld
from training.services.policy import due_projects

logger = logging.getLogger(__name__)


@shared_task(name="training.start_due_cycles")
def start_due_cycles() -> list[int]:
    """Periodic (beat, default queue): start a cycle for each enabled project with enough
    new judgments; each run is queued on the gpu queue after its commit."""
    started = []
    for project in due_projects():
        result = start_cycle(Project.objects.get(pk=project.pk))
        if result.created and result.run is not None:
            started.append(result.run.pk)
    return started


@shared_task(
    bind=True,
    name=RUN_CYCLE_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
)
def run_cycle_task(self: Task, run_id: int) -> str:
    """Run (or resume) a training run on the gpu queue. Acknowledged when it ends, and
    requeued when its worker dies, so a killed run is delivered again and resumes from
    its checkpoint; while another live worker holds the run's lease, it waits for it."""
    try:
        run = run_cycle(run_id)
    except LeaseHeld as held:
        logger.info("%s; retrying in %.0f s", held, held.retry_in)
        raise self.retry(countdown=held.retry_in + 1) from held
    except TrainingRun.DoesNotExist:
        logger.warning("training run %s does not exist; nothing to do", run_id)
        return "missing"
    return str(run.status)


@shared_task(name=EVALUATE_FROZEN_SET_TASK, acks_late=True, reject_on_worker_lost=True)
def evaluate_frozen_set_task(project_id: int) -> int:
    """Measure every model version of the project on its frozen evaluation set (gpu
    queue); versions already measured are skipped, so a redelivery only finishes."""
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        logger.warning("project %s does not exist; nothing to evaluate", project_id)
        return 0
    return evaluate_frozen_set(project)
