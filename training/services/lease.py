"""The lease a worker holds on a training run while it runs it, and its heartbeat.

A run is executed by whoever holds its lease: `lease_holder` (host:pid) until
`lease_expires_at`. The holder renews it from a background thread; a worker killed
mid-run stops renewing, and once the lease expires a redelivered task takes it over and
resumes the run from what it recorded.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from training.models import TrainingRun

logger = logging.getLogger(__name__)


class LeaseHeld(Exception):
    """Another live process holds the run's lease; try again after `retry_in` seconds."""

    def __init__(self, run_id: int, holder: str, retry_in: float):
        self.retry_in = retry_in
        super().__init__(
            f"training run {run_id} is being run by {holder}; its lease ends in "
            f"{retry_in:.0f} s unless renewed"
        )


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_seconds() -> int:
    return max(int(settings.TRAINING_LEASE_SECONDS), 3)


def take_lease(run_id: int, holder: str) -> bool:
    """Take the lease of a live run when it is free, expired, or already ours.

    One UPDATE (atomic): of two processes only one gets it. Returns False when the run
    is not live any more (finished: nothing to do). Raises LeaseHeld when another
    process holds an unexpired lease.
    """
    now = timezone.now()
    taken = (
        TrainingRun.objects.filter(pk=run_id, status__in=TrainingRun.LIVE)
        .filter(
            Q(lease_holder="")
            | Q(lease_holder=holder)
            | Q(lease_expires_at__isnull=True)
            | Q(lease_expires_at__lt=now)
        )
        .update(
            lease_holder=holder,
            lease_expires_at=now + timedelta(seconds=lease_seconds()),
            heartbeat_at=now,
        )
    )
    if taken:
        return True
    run = TrainingRun.objects.filter(pk=run_id).first()
    if run is None or not run.is_live:
        return False
    expires = run.lease_expires_at or now
    raise LeaseHeld(run_id, run.lease_holder, max((expires - now).total_seconds(), 1.0))


def renew_lease(run_id: int, holder: str, progress: float | None = None) -> bool:
    """Extend our lease (and record progress); False when it is no longer ours."""
    now = timezone.now()
    fields: dict[str, object] = {
        "lease_expires_at": now + timedelta(seconds=lease_seconds()),
        "heartbeat_at": now,
    }
    if progress is not None:
        fields["progress"] = round(min(max(progress, 0.0), 1.0), 4)
    return bool(
        TrainingRun.objects.filter(
            pk=run_id, lease_holder=holder, status__in=TrainingRun.LIVE
        ).update(**fields)
    )


def release_lease(run_id: int, holder: str) -> None:
    TrainingRun.objects.filter(pk=run_id, lease_holder=holder).update(
        lease_holder="", lease_expires_at=None
    )


class Heartbeat:
    """Renews a lease every third of TRAINING_LEASE_SECONDS from a daemon thread, with
    the progress `progress()` reports, on the thread's own database connection.

    `lost` is set when the lease stopped being ours (another process took it over after
    it expired, e.g. this process was frozen); the cycle checks it between steps.
    """

    def __init__(self, run_id: int, holder: str, progress: Callable[[], float | None]):
        self.run_id = run_id
        self.holder = holder
        self.progress = progress
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"training-run-{run_id}-heartbeat", daemon=True
        )

    def _beat(self) -> None:
        interval = lease_seconds() / 3
        try:
            while not self._stop.wait(interval):
                try:
                    share = self.progress()
                except Exception:  # a half-written metrics line: report nothing this time
                    share = None
                if not renew_lease(self.run_id, self.holder, share):
                    self.lost.set()
                    logger.warning("training run %s: lease lost to another worker", self.run_id)
                    return
        finally:
            connection.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
