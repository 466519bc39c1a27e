"""Sending a Celery task by its registered name, from a request or a command, without
ever failing the caller.

Services never import a `tasks` module: a task is named by the string it is registered
under (`annotation.process_batch`, `scoring.score_batch_images`, ...), each name declared
once as a constant beside the service that runs it, so tasks import services and never
the reverse. Routing (CELERY_TASK_ROUTES) applies to a task sent by name as to any other.

Callers run after their commit (`transaction.on_commit`): the work is already recorded in
the database in a waiting state (a batch `imported`, a snapshot `queued`, a training run
`queued`), so a broker outage must not turn a committed request into an error. `enqueue`
returns False instead, and the periodic sweeps (annotation.sweep_unprocessed_batches,
annotation.sweep_queued_exports) queue the waiting rows once Redis answers again.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from kombu.exceptions import OperationalError as BrokerUnreachable

from config.celery_app import app
from core.redis_outage import broker_outage

logger = logging.getLogger(__name__)


def enqueue(task_name: str, *args: Any, task_id: str | None = None) -> bool:
    """Send the task registered as `task_name` with `args`; True when it was sent.

    Never raises. While the broker is known to be down (core.redis_outage) nothing is
    attempted; otherwise one publish is tried with CELERY_TASK_PUBLISH_RETRY_POLICY (well
    under a second when Redis refuses connections). The outage is logged once by
    core.redis_outage, not once per task. `task_id` fixes the Celery id of the message
    (a training run records it before it is sent).
    """
    outage = broker_outage()
    if outage.skipping():
        return False
    try:
        app.send_task(task_name, args=args, task_id=task_id)
    except (BrokerUnreachable, redis.RedisError, OSError) as exc:
        outage.failed(exc)
        return False
    except Exception:
        logger.exception("queueing %s%r failed", task_name, args)
        return False
    outage.answered()
    return True
