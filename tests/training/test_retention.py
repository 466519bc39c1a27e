"""`manage.py prune`: old snapshots' files and unregistered checkpoints go, with the space
freed reported; registered checkpoints, live runs, the newest snapshot of a project and
a frozen evaluation set stay. Real files on disk."""

from __future__ import annotations

import io
from datetime import timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from annotation.models import ExportSnapshot, Project, User
from scoring.models import ModelVersion
from tests.conftest import client_for
from tests.factories.tasks import make_project
from tests.factories.users import member_of
from training.models import TrainingPolicy, TrainingRun

pytestmark = pytest.mark.django_db

OLD = timezone.now() - timedelta(days=40)


def write(path: Path, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    return path


def snapshot(project: Project, root: Path, size: int, *, finished: Any = OLD) -> ExportSnapshot:
    made = ExportSnapshot.objects.create(
        project=project, status=ExportSnapshot.Status.DONE, path="", finished_at=finished
    )
    folder = root / str(made.pk)
    write(folder / "train.json", size)
    write(folder / "manifest.json", 10)
    made.path = str(folder)
    made.save(update_fields=["path"])
    return made


def run(project: Project, root: Path, status: str = TrainingRun.Status.SUCCEEDED) -> TrainingRun:
    made = TrainingRun.objects.create(project=project, status=status, finished_at=OLD)
    made.out_dir = str(root / f"run-{made.pk}")
    made.save(update_fields=["out_dir"])
    write(Path(made.out_dir) / "checkpoints" / "latest.pt", 1000)
    write(Path(made.out_dir) / "metrics.jsonl", 5)
    return made


def prune(*args: str) -> str:
    out = io.StringIO()
    call_command("prune", *args, stdout=out)
    return out.getvalue()


def test_prune_removes_old_files_keeps_what_is_used_and_reports_the_space(
    tmp_path: Path, settings: Any, researcher_user: User
) -> None:
    settings.RETENTION_DAYS = 30
    project, other = make_project("foxes"), make_project("owls")
    exports = tmp_path / "exports"
    oldest = snapshot(project, exports, 2000)
    pinned = snapshot(project, exports, 300)
    newest = snapshot(project, exports, 400)  # the project's newest: kept
    lone = snapshot(other, exports, 600)  # old, and "owls" has newer done ones: removed
    recent = snapshot(other, exports, 500, finished=timezone.now())  # within 30 days
    snapshot(other, exports, 50, finished=timezone.now())  # the newest of "owls"
    TrainingPolicy.objects.create(project=project, evaluation_snapshot=pinned)

    training = tmp_path / "training"
    unregistered = run(project, training)
    registered = run(project, training, TrainingRun.Status.FAILED)
    live = run(other, training, TrainingRun.Status.TRAINING)
    kept_checkpoint = Path(registered.out_dir) / "checkpoints" / "latest.pt"
    ModelVersion.objects.create(
        name="candidate",
        architecture="ViT-B-32",
        checkpoint_path=str(kept_checkpoint),
        checkpoint_sha256="0" * 64,
        status=ModelVersion.Status.RETIRED,
    )

    # A dry run names the same things and the same total, and removes nothing.
    dry = prune("--dry-run")
    assert dry.count("would remove ") == 3
    freed = 2010 + 610 + 1000
    assert f"would free 3.5 KiB ({freed} bytes) in 3 item(s)" in dry
    assert "last 30 day(s)" in dry
    assert Path(oldest.path).exists() and Path(lone.path).exists()

    done = prune()
    assert f"freed 3.5 KiB ({freed} bytes) in 3 item(s)" in done
    assert f"removed export snapshot {oldest.pk}: {oldest.path}" in done
    assert not Path(oldest.path).exists() and not Path(lone.path).exists()
    assert not (Path(unregistered.out_dir) / "checkpoints" / "latest.pt").exists()
    assert (Path(unregistered.out_dir) / "metrics.jsonl").exists()
    for still in (pinned, newest, recent):
        assert (Path(still.path) / "manifest.json").exists()
    assert kept_checkpoint.exists()
    assert (Path(live.out_dir) / "checkpoints" / "latest.pt").exists()

    # The rows stay, marked; a download says the files are gone; nothing is left to do.
    gone = ExportSnapshot.objects.get(pk=oldest.pk)
    assert gone.status == ExportSnapshot.Status.DONE and "removed by manage.py prune" in gone.error
    member_of(project, researcher_user, "researcher")
    download = client_for(researcher_user).get(reverse("export-download", kwargs={"pk": gone.pk}))
    assert download.status_code == HTTPStatus.GONE
    assert "freed 0 B (0 bytes) in 0 item(s)" in prune()

    # --keep-days overrides the setting: everything not kept goes.
    assert f"removed export snapshot {recent.pk}" not in prune("--keep-days", "5")
    assert f"removed export snapshot {recent.pk}" in prune("--keep-days", "0")
    assert (Path(newest.path) / "manifest.json").exists()


def test_prune_refuses_a_negative_keep_days() -> None:
    with pytest.raises(CommandError, match="--keep-days must be 0 or more"):
        prune("--keep-days", "-1")
