"""export_snapshot: the HPD v2 layout read by the release's own loaders, the full record,
byte-identical re-runs, and what is always left out."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from PIL import Image as PILImage

from annotation.export import ExportParamsError, create_export, export_snapshot
from annotation.models import ExportSnapshot, Judgment, ProjectAnnotator, Task
from annotation.quality.annotator_quality import set_excluded
from tests.factories.batches import image_ids
from tests.factories.judging import judge, write_calibration_judgment
from tests.factories.projects import judged_project
from tests.official_hpsv2 import official

pytestmark = pytest.mark.django_db


def run_export(project: Any, out: Path, **parameters: Any) -> ExportSnapshot:
    snapshot = create_export(project, parameters, out=out, enqueue=False)
    done = export_snapshot(snapshot.pk)
    assert done is not None and done.status == ExportSnapshot.Status.DONE, done and done.error
    return done


def pixels(path: Path) -> torch.Tensor:
    with PILImage.open(path) as image:
        return torch.from_numpy(np.asarray(image.convert("RGB")).copy())


def to_tensor(image: PILImage.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image.convert("RGB")).copy())


def test_official_loaders_read_our_train_and_test_files(tmp_path: Path) -> None:
    judged = judged_project(tmp_path / "in")
    out = tmp_path / "snapshot"
    run_export(judged.project, out)

    data = official("hpsv2.src.training.data")
    train = json.loads((out / "train.json").read_text())
    test = json.loads((out / "test.json").read_text())
    assert len(train) == 3 * 6  # 3 groups of 4 images, one annotator: C(4,2) pairs each
    assert len(test) == 2

    # Each split's images keep their uploaded names (unique within the split).
    hpd_train = data.HPDDataset(str(out / "train.json"), str(out / "train"), to_tensor, lambda t: t)
    assert len(hpd_train) == len(train)
    for index, entry in enumerate(train):
        images, label, caption = hpd_train[index]
        # The release swallows errors and serves the next sample instead: compare content.
        assert caption == entry["prompt"]
        assert label == entry["human_preference"]
        for tensor, name in zip(images, entry["file_path"], strict=True):
            assert torch.equal(tensor, pixels(judged.train_folder / name))

    ranking = data.RankingDataset(str(out / "test.json"), str(out / "test"), to_tensor, lambda t: t)
    assert len(ranking) == 2
    for index, entry in enumerate(test):
        images, rank, caption = ranking[index]
        assert caption == entry["prompt"]
        assert rank == entry["rank"]
        assert len(entry["raw_annotations"]) == 3
        for tensor, name in zip(images, entry["image_path"], strict=True):
            assert torch.equal(tensor, pixels(judged.test_folder / name))


def test_train_pairs_and_test_ranks_follow_the_judgments(tmp_path: Path) -> None:
    judged = judged_project(tmp_path / "in", train_groups=1, test_groups=1, annotators=2)
    out = tmp_path / "snapshot"
    run_export(judged.project, out)

    train_task = Task.objects.get(batch=judged.train_batch)
    judgment = Judgment.objects.get(task=train_task)
    names = {row.image_id: row.image.original_name for row in train_task.task_images.all()}
    best, worst = judgment.ranking[0], judgment.ranking[-1]
    pairs = json.loads((out / "train.json").read_text())
    (entry,) = [p for p in pairs if set(p["file_path"]) == {names[best], names[worst]}]
    assert entry["human_preference"] == ([1, 0] if entry["file_path"][0] == names[best] else [0, 1])

    test_task = Task.objects.get(batch=judged.test_batch)
    ids = image_ids(test_task)
    raws = [
        [j.ranking.index(image) + 1 for image in ids]
        for j in Judgment.objects.filter(task=test_task).order_by("pk")
    ]
    (group,) = json.loads((out / "test.json").read_text())
    assert [a["rank"] for a in group["raw_annotations"]] == raws
    means = [sum(col) / len(col) for col in zip(*raws, strict=True)]
    assert group["rank"] == [1 + sum(m2 < m for m2 in means) for m in means]
    # Pseudonymous, and the same annotator gets the same hash in every group.
    hashes = [a["user_hash"] for a in group["raw_annotations"]]
    assert len(set(hashes)) == 2 and all(user.username not in hashes for user in judged.annotators)


def test_full_record_and_manifest(tmp_path: Path) -> None:
    judged = judged_project(tmp_path / "in")
    out = tmp_path / "snapshot"
    snapshot = run_export(judged.project, out)

    lines = [json.loads(line) for line in (out / "annotations.jsonl").read_text().splitlines()]
    assert len(lines) == Judgment.objects.count() == 3 + 2 * 3
    first = lines[0]
    assert set(first) >= {
        "prompt",
        "prompt_cleaned",
        "style",
        "images",
        "display_order",
        "ranking",
        "duration_ms",
        "flags",
        "guideline_version",
        "annotator",
        "created_at",
    }
    assert len(first["ranking"]) == 4 and all(len(sha) == 64 for sha in first["ranking"])
    table = pq.read_table(out / "pairs.parquet")
    assert table.num_rows == 9 * 6
    assert set(table.column("split").to_pylist()) == {"train", "test"}
    row = table.slice(0, 1).to_pylist()[0]
    assert row["winner_sha256"] == first["ranking"][0] and row["judgment"] == first["judgment"]
    assert row["loser_sha256"] == first["ranking"][1] and row["prompt"] == (
        first["prompt_cleaned"] or first["prompt"]
    )
    winner_bytes = (out / row["winner_path"]).read_bytes()
    assert hashlib.sha256(winner_bytes).hexdigest() == row["winner_sha256"]
    generators = {image["sha256"]: image["generator"] for image in first["images"]}
    assert row["winner_generator"] == generators[row["winner_sha256"]]

    manifest = json.loads((out / "manifest.json").read_text())
    listed = {entry["path"]: entry for entry in manifest["files"]}
    on_disk = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {
        "manifest.json"
    }
    assert set(listed) == on_disk
    for path, entry in listed.items():
        data = (out / path).read_bytes()
        assert entry["size"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest()
    assert snapshot.checksum == hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()
    sheet = (out / "DATASHEET.md").read_text()
    assert "| train | 3 | 3 | 18 | 3 | 12 |" in sheet
    assert "| test | 2 | 6 | 36 | 2 | 8 |" in sheet
    assert "not computed" in sheet
    assert snapshot.counts["kept_judgments"] == 9


def test_same_parameters_give_byte_identical_files(tmp_path: Path) -> None:
    judged = judged_project(tmp_path / "in")
    first = run_export(judged.project, tmp_path / "one", split="all")
    second = run_export(judged.project, tmp_path / "two", split="all")
    assert first.checksum == second.checksum
    files = sorted(p.relative_to(tmp_path / "one") for p in (tmp_path / "one").rglob("*"))
    assert files == sorted(p.relative_to(tmp_path / "two") for p in (tmp_path / "two").rglob("*"))
    for relative in files:
        if (tmp_path / "one" / relative).is_file():
            one = (tmp_path / "one" / relative).read_bytes()
            assert one == (tmp_path / "two" / relative).read_bytes(), relative
    # Other parameters: another salt, so other pseudonyms.
    third = run_export(judged.project, tmp_path / "three", split="test")
    assert third.checksum != first.checksum
    one = json.loads((tmp_path / "one" / "test.json").read_text())
    three = json.loads((tmp_path / "three" / "test.json").read_text())
    assert one[0]["raw_annotations"][0]["user_hash"] != three[0]["raw_annotations"][0]["user_hash"]
    assert not (tmp_path / "three" / "train.json").exists()


def test_always_left_out_and_filters_with_their_counts(tmp_path: Path) -> None:
    judged = judged_project(tmp_path / "in", annotators=3)
    project = judged.project
    cheat, flagged, _ = judged.annotators
    set_excluded(project, cheat, excluded=True, by=None)
    ProjectAnnotator.objects.filter(project=project, annotator=flagged).update(
        quality_flags=["speed"]
    )
    # A repeat is served only to the annotator who judged the original.
    train_task = Task.objects.get(batch=judged.train_batch, judgments__annotator=flagged)
    repeat = Task.objects.create(
        project=project,
        batch=judged.train_batch,
        prompt=train_task.prompt,
        judgments_wanted=1,
        repeat_of=train_task,
        repeat_for=flagged,
    )
    for position, image_id in enumerate(image_ids(train_task)):
        repeat.task_images.create(image_id=image_id, position=position)
    judge(repeat, flagged, image_ids(train_task))
    calibration_user = judged.annotators[2]
    other = (
        Task.objects.filter(batch=judged.train_batch)
        .exclude(judgments__annotator=calibration_user)
        .first()
    )
    assert other is not None
    write_calibration_judgment(other, calibration_user, image_ids(other))

    snapshot = run_export(project, tmp_path / "a")
    removed = snapshot.counts["removed"]
    excluded_count = Judgment.objects.filter(annotator=cheat, is_calibration=False).count()
    assert removed == {"calibration": 1, "excluded_annotator": excluded_count, "repeat_task": 1}
    exported = (tmp_path / "a" / "annotations.jsonl").read_text().splitlines()
    assert len(exported) == Judgment.objects.count() - 2 - excluded_count

    strict = run_export(project, tmp_path / "b", exclude_flagged_annotators=True, min_annotators=3)
    removed = strict.counts["removed"]
    assert (
        removed["flagged_annotator"]
        == Judgment.objects.filter(
            annotator=flagged, is_calibration=False, task__repeat_of=None
        ).count()
    )
    # Test groups keep one judgment each after both exclusions: fewer than 3 annotators.
    assert removed["min_annotators"] == 2
    assert json.loads((tmp_path / "b" / "test.json").read_text()) == []
    assert (
        "| judgments of test groups with too few annotators | 2 |"
        in (tmp_path / "b" / "DATASHEET.md").read_text()
    )


def test_bad_parameters_are_listed_and_nothing_is_recorded(tmp_path: Path) -> None:
    judged = judged_project(tmp_path / "in", train_groups=1, test_groups=1, annotators=1)
    before = ExportSnapshot.objects.count()
    with pytest.raises(ExportParamsError) as raised:
        create_export(
            judged.project,
            {"split": "dev", "created_from": "yesterday", "min_annotators": 0, "colour": 1},
            enqueue=False,
        )
    text = str(raised.value)
    for expected in ("split 'dev'", "created_from 'yesterday'", "min_annotators 0", "colour"):
        assert expected in text
    assert ExportSnapshot.objects.count() == before


def test_a_done_snapshot_is_not_exported_twice(tmp_path: Path) -> None:
    judged = judged_project(tmp_path / "in", train_groups=1, test_groups=1, annotators=1)
    snapshot = run_export(judged.project, tmp_path / "out")
    manifest = (tmp_path / "out" / "manifest.json").stat().st_mtime_ns
    again = export_snapshot(snapshot.pk)
    assert again is not None and again.status == ExportSnapshot.Status.DONE
    assert (tmp_path / "out" / "manifest.json").stat().st_mtime_ns == manifest


def test_missing_image_file_fails_with_a_reason_and_leaves_no_files(
    tmp_path: Path, media_root: Path
) -> None:
    judged = judged_project(tmp_path / "in", train_groups=1, test_groups=1, annotators=1)
    image = Task.objects.get(batch=judged.train_batch).images.first()
    assert image is not None
    (media_root / image.file).unlink()
    snapshot = create_export(judged.project, {}, out=tmp_path / "out", enqueue=False)
    failed = export_snapshot(snapshot.pk)
    assert failed is not None and failed.status == ExportSnapshot.Status.FAILED
    assert "missing from MEDIA_ROOT" in failed.error and image.sha256 in failed.error
    assert not (tmp_path / "out").exists() and not (tmp_path / "out.partial").exists()


def test_images_whose_names_clash_within_a_split_are_named_by_content(tmp_path: Path) -> None:
    from tests.factories.batches import import_ready_batch, write_batch

    judged = judged_project(tmp_path / "in", train_groups=1, test_groups=1, annotators=1)
    # A second train batch reusing the names img/0000-0.png, ... of the first.
    batch = import_ready_batch(
        write_batch(
            tmp_path / "again", groups=1, images_per_group=4, seed=77, prompt="a third prompt {n}"
        ),
        judged.project.slug,
    )
    task = Task.objects.get(batch=batch)
    judge(task, judged.annotators[0], image_ids(task))
    run_export(judged.project, tmp_path / "out")
    train = json.loads((tmp_path / "out" / "train.json").read_text())
    names = {name for entry in train for name in entry["file_path"]}
    assert len(names) == 8 and all(len(Path(name).stem) == 64 for name in names)
    test = json.loads((tmp_path / "out" / "test.json").read_text())
    assert all(name.startswith("img/") for name in test[0]["image_path"])
    for name in names:
        data = (tmp_path / "out" / "train" / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == Path(name).stem


def test_a_snapshot_another_worker_runs_is_left_to_it(tmp_path: Path) -> None:
    from django.db import DEFAULT_DB_ALIAS, connections

    from annotation.export.snapshots import EXPORT_LOCK_CLASS
    from annotation.tasks import export_snapshot_task

    judged = judged_project(tmp_path / "in", train_groups=1, test_groups=1, annotators=1)
    snapshot = create_export(judged.project, {}, out=tmp_path / "out", enqueue=False)
    other_worker = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other_worker.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [EXPORT_LOCK_CLASS, snapshot.pk])
        assert export_snapshot_task(snapshot.pk) is None  # a redelivery: nothing done
        snapshot.refresh_from_db()
        assert snapshot.status == ExportSnapshot.Status.QUEUED
        assert not (tmp_path / "out").exists()
        with other_worker.cursor() as cursor:  # the other worker is done with it
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [EXPORT_LOCK_CLASS, snapshot.pk])
    finally:
        other_worker.close()
    assert export_snapshot_task(snapshot.pk) == ExportSnapshot.Status.DONE
    assert export_snapshot_task(snapshot.pk) == ExportSnapshot.Status.DONE  # idempotent
