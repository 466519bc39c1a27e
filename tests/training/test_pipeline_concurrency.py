"""Two cycles started together give one run; one process at a time holds a run's lease."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.training.pipeline_support import grey_project, tiny_policy
from training.models import TrainingRun
from training.services.cycle import CycleStart, start_cycle
from training.services.lease import LeaseHeld, release_lease, take_lease


def together(count: int, work: Any) -> list[Any]:
    """Run `work()` in `count` threads released at once, each on its own connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def body(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:  # reported by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(k,)) for k in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_two_cycles_started_together_make_one_run(tmp_path: Path) -> None:
    grey = grey_project(tmp_path, train_groups=2, test_groups=1, annotators=1)
    tiny_policy(grey.project, min_new_judgments=1)

    results: list[CycleStart] = together(4, lambda: start_cycle(grey.project, enqueue=False))

    assert all(isinstance(result, CycleStart) for result in results), results
    run = TrainingRun.objects.get()
    assert [result.run.pk for result in results if result.run] == [run.pk] * 4
    assert sum(result.created for result in results) == 1


@pytest.mark.django_db(transaction=True)
def test_one_process_holds_a_runs_lease_until_it_expires(tmp_path: Path, settings: Any) -> None:
    grey = grey_project(tmp_path, train_groups=2, test_groups=1, annotators=1)
    run = start_cycle(grey.project, force=True, enqueue=False).run
    assert run is not None

    results = together(3, lambda: take_lease(run.pk, f"worker-{threading.get_ident()}"))

    assert sorted(type(result).__name__ for result in results) == ["LeaseHeld", "LeaseHeld", "bool"]
    holder = TrainingRun.objects.get(pk=run.pk).lease_holder
    assert holder.startswith("worker-")
    with pytest.raises(LeaseHeld, match=f"being run by {holder}"):
        take_lease(run.pk, "another")
    assert take_lease(run.pk, holder) is True  # the holder renews

    # A holder that died stops renewing: once the lease expires, another takes it over.
    TrainingRun.objects.filter(pk=run.pk).update(lease_expires_at=run.created_at)
    assert take_lease(run.pk, "successor") is True
    release_lease(run.pk, "successor")
    assert TrainingRun.objects.get(pk=run.pk).lease_holder == ""
    # A finished run has no lease to take: there is nothing to do.
    TrainingRun.objects.filter(pk=run.pk).update(status=TrainingRun.Status.SUCCEEDED)
    assert take_lease(run.pk, "late") is False
