"""import_batch on valid input: what gets stored, and where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

from annotation.intake.importing import import_batch
from annotation.intake.media import media_path_for
from annotation.models import Batch, Image, Project, Prompt, Task, TaskType
from tests.factories.batches import write_batch, zip_folder

pytestmark = pytest.mark.django_db


def test_folder_import_creates_a_pairwise_project_with_everything_stored(
    tmp_path: Path, media_root: Path
) -> None:
    folder = write_batch(tmp_path / "batch", groups=3, images_per_group=2)

    summary = import_batch(folder, "foxes")

    project = Project.objects.get(slug="foxes")
    assert project.task_type == TaskType.PAIRWISE
    assert project.images_per_task == 2
    assert summary.as_dict() | {"seconds": 0} == {
        "batch": Batch.objects.get().pk,
        "project": "foxes",
        "created_project": True,
        "task_type": "pairwise",
        "split": "train",
        "judgments_per_task": 1,
        "max_judgments_per_task": 1,
        "prompts": 3,
        "images": 6,
        "tasks": 3,
        "seconds": 0,
    }
    assert list(Prompt.objects.order_by("line_number").values_list("raw_text", "line_number")) == [
        ("a red fox in the snow, number 0", 1),
        ("a red fox in the snow, number 1", 2),
        ("a red fox in the snow, number 2", 3),
    ]
    for image in Image.objects.all():
        stored = media_root / image.file
        assert image.file == media_path_for(image.sha256, "png")
        assert stored.read_bytes() == (folder / image.original_name).read_bytes()
        assert (image.width, image.height, image.format) == (32, 24, "PNG")
    task = Task.objects.get(prompt__line_number=2)
    assert [ti.image.original_name for ti in task.task_images.select_related("image")] == [
        "img/0001-0.png",
        "img/0001-1.png",
    ]
    assert task.judgments_wanted == 1


def test_zip_import_with_a_top_folder_creates_a_ranking_project(tmp_path: Path) -> None:
    folder = write_batch(tmp_path / "batch", groups=2, images_per_group=4)
    archive = zip_folder(tmp_path, tmp_path.parent / "upload.zip")

    summary = import_batch(archive, "rank-me", split="test", judgments_per_task=10)

    project = Project.objects.get(slug="rank-me")
    assert (project.task_type, project.images_per_task) == (TaskType.RANKING, 4)
    assert (summary.images, summary.tasks, summary.split) == (8, 2, "test")
    assert set(Task.objects.values_list("judgments_wanted", flat=True)) == {10}
    assert folder.exists()


def test_command_prints_a_json_summary_as_its_last_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_batch(tmp_path / "batch", groups=2)

    call_command("import_batch", str(folder), "--project", "cli")

    last_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last_line)["images"] == 4
