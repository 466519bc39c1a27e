"""Two uploads at the same moment: real threads, each on its own PostgreSQL connection."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from django.db import connection

from annotation.intake.importing import ImportSummary, import_batch
from annotation.intake.problems import BatchRejected
from annotation.models import Batch, Image, Project
from tests.factories.batches import media_state, write_batch


def _import_in_threads(paths: list[Path], slug: str) -> list[ImportSummary | BatchRejected]:
    results: list[ImportSummary | BatchRejected] = []
    barrier = threading.Barrier(len(paths))

    def run(path: Path) -> None:
        try:
            barrier.wait()
            results.append(import_batch(path, slug))
        except BatchRejected as rejected:
            results.append(rejected)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(path,)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_the_same_batch_uploaded_twice_at_once_is_stored_once(
    tmp_path: Path, media_root: Path
) -> None:
    first = write_batch(tmp_path / "first", groups=20)
    second = write_batch(tmp_path / "second", groups=20)  # same seed: the same images

    results = _import_in_threads([first, second], "race")

    summaries = [r for r in results if isinstance(r, ImportSummary)]
    rejections = [r for r in results if isinstance(r, BatchRejected)]
    assert (len(summaries), len(rejections)) == (1, 1)
    assert len(rejections[0].problems) == 40
    assert all("is already in project 'race'" in p.message for p in rejections[0].problems)
    assert Project.objects.count() == 1
    assert Batch.objects.count() == 1
    assert Image.objects.count() == 40
    stored = [p for p in media_state(media_root) if p.endswith(".png")]
    assert len(stored) == 40


@pytest.mark.django_db(transaction=True)
def test_different_batches_uploaded_at_once_into_a_new_project_both_land(
    tmp_path: Path,
) -> None:
    first = write_batch(tmp_path / "first", groups=10, seed=1)
    second = write_batch(tmp_path / "second", groups=10, seed=2, prompt="a blue whale {n}")

    results = _import_in_threads([first, second], "both")

    assert all(isinstance(r, ImportSummary) for r in results), results
    assert sorted(r.created_project for r in results if isinstance(r, ImportSummary)) == [
        False,
        True,
    ]
    assert Project.objects.get().slug == "both"
    assert Image.objects.filter(project__slug="both").count() == 40
