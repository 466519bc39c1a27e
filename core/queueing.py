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

import contextlib
import logging
from typing import Any

import redis
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerUnreachable

from config.celery_app import app
from core.redis_outage import broker_outage, client_of

logger = logging.getLogger(__name__)

DEBOUNCE_PREFIX = "debounce"


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


def debounce_key(task_name: str, *args: Any) -> str:
    """The Redis key that marks `task_name(*args)` as queued in the current window."""
    return ":".join([DEBOUNCE_PREFIX, task_name, *(str(arg) for arg in args)])


def enqueue_once(task_name: str, *args: Any, window_s: int) -> bool:
    """Send `task_name(*args)` unless it was already sent in the last `window_s` seconds.

    A key on the broker's Redis (SET NX with an expiry) marks the send, so however many
    requests ask in one window, and whichever worker process serves them, the task is sent
    once; True when this call sent it. Never raises: when Redis is down nothing is sent
    (the caller's periodic task catches up), and when the send fails the mark is removed,
    so the next request tries again.
    """
    outage = broker_outage()
    if outage.skipping():
        return False
    key = debounce_key(task_name, *args)
    client = client_of(settings.REDIS_URL)
    try:
        if not client.set(key, "1", nx=True, ex=max(1, window_s)):
            return False
    except (redis.RedisError, OSError) as exc:
        outage.failed(exc)
        return False
    if enqueue(task_name, *args):
        return True
    with contextlib.suppress(redis.RedisError, OSError):
        client.delete(key)
    return False
