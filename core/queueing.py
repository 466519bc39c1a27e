"""Sending a Celery task from a request or a command without ever failing it.

Callers run after their commit (`transaction.on_commit`): the work is already recorded in
the database in a waiting state (a batch `imported`, a snapshot `queued`), so a broker
outage must not turn a committed request into an error. `enqueue` returns False instead,
and the periodic sweeps (annotation.sweep_unprocessed_batches,
annotation.sweep_queued_exports) queue the waiting rows once Redis answers again.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from celery import Task
from kombu.exceptions import OperationalError as BrokerUnreachable

from core.redis_outage import broker_outage

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args: Any) -> bool:
    """Send `task(*args)` to the broker; True when it was sent.

    Never raises. While the broker is known to be down (core.redis_outage) nothing
    is attempted; otherwise one publish is tried with CELERY_TASK_PUBLISH_RETRY_POLICY (well
    under a second when Redis refuses connections). The outage is logged once by
    core.redis_outage, not once per task.
    """
    outage = broker_outage()
    if outage.skipping():
        return False
    try:
        task.delay(*args)
    except (BrokerUnreachable, redis.RedisError, OSError) as exc:
        outage.failed(exc)
        return False
    except Exception:
        logger.exception("queueing %s%r failed", task.name, args)
        return False
    outage.answered()
    return True
