"""import_batch on an HPD v2 release folder, and the round trip import -> export."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from annotation.export import create_export, export_snapshot
from annotation.intake.importing import import_batch
from annotation.intake.problems import BatchRejected
from annotation.models import Judgment, PairJudgment, Project, Task, User
from annotation.quality import set_excluded
from tests.factories.batches import database_state, media_state, png_bytes, zip_folder

pytestmark = pytest.mark.django_db

TRAIN_PROMPTS = ["a red fox in the snow", "a lighthouse on a cliff at dusk"]
TEST_PROMPTS = ["a bowl of ramen, studio photo", "an astronaut riding a horse"]


def write_hpd(folder: Path, seed: int = 0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A small release: 2 train prompts of 3 images as all their pairs (one pair twice, as
    the release has), and 2 test groups of 4 images ranked by 3 annotators."""
    (folder / "train").mkdir(parents=True)
    (folder / "test").mkdir()
    train: list[dict[str, Any]] = []
    n = 0
    for p, prompt in enumerate(TRAIN_PROMPTS):
        names = [f"{p:05d}_{k}.png" for k in range(3)]
        for name in names:
            n += 1
            (folder / "train" / name).write_bytes(png_bytes(seed * 1000 + n))
        for a in range(3):
            for b in range(a + 1, 3):
                pref = [1, 0] if (a + b + p) % 2 else [0, 1]
                train.append(
                    {"prompt": prompt, "file_path": [names[a], names[b]], "human_preference": pref}
                )
    train.append(dict(train[0]))  # a duplicate pair
    raws = [
        [[1, 2, 3, 4], [2, 1, 3, 4], [1, 3, 2, 4]],
        [[4, 3, 2, 1], [4, 3, 1, 2], [3, 4, 2, 1]],
    ]
    ranks = [[1, 2, 3, 4], [4, 3, 2, 1]]
    test: list[dict[str, Any]] = []
    for g, prompt in enumerate(TEST_PROMPTS):
        # Same file names as train/ uses: each split folder has its own names.
        names = [f"{g:05d}_{k}.png" for k in range(4)]
        for name in names:
            n += 1
            (folder / "test" / name).write_bytes(png_bytes(seed * 1000 + n))
        test.append(
            {
                "prompt": prompt,
                "image_path": names,
                "rank": ranks[g],
                "raw_annotations": [
                    {"rank": raw, "user_hash": f"user-{(g + u) % 4:02d}"}
                    for u, raw in enumerate(raws[g])
                ],
            }
        )
    (folder / "train.json").write_text(json.dumps(train))
    (folder / "test.json").write_text(json.dumps(test))
    return train, test


def test_import_creates_tasks_pseudonymous_annotators_and_judgments(tmp_path: Path) -> None:
    train, _ = write_hpd(tmp_path / "hpd")
    summary = import_batch(zip_folder(tmp_path / "hpd", tmp_path / "hpd.zip"), "hpd")

    data = summary.as_dict()
    assert data["split"] == "train+test" and len(data["batches"]) == 2
    assert (data["prompts"], data["images"], data["tasks"]) == (4, 6 + 8, len(train) + 2)
    assert data["judgments"] == len(train) + 6
    assert Project.objects.get(slug="hpd").task_type == "ranking"
    hashed = User.objects.exclude(external_id="").order_by("external_id")
    assert [u.external_id for u in hashed] == [
        "hpd-v2-train",
        "user-00",
        "user-01",
        "user-02",
        "user-03",
    ]
    assert not any(u.has_usable_password() for u in hashed)
    assert PairJudgment.objects.count() == len(train) + 6 * 6
    group = Task.objects.get(prompt__raw_text=TEST_PROMPTS[0])
    judgment = Judgment.objects.get(task=group, annotator__external_id="user-01")
    names = {row.image_id: row.image.original_name for row in group.task_images.all()}
    # raw rank [2, 1, 3, 4]: image 1 best, then 0, 2, 3.
    assert [names[i] for i in judgment.ranking] == [f"00000_{k}.png" for k in (1, 0, 2, 3)]


def test_round_trip_reproduces_train_and_test_json(tmp_path: Path) -> None:
    train, test = write_hpd(tmp_path / "hpd")
    out = io.StringIO()
    call_command("import_batch", str(tmp_path / "hpd"), "--project", "hpd", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["judgments"] == len(train) + 6

    snapshot = create_export(Project.objects.get(slug="hpd"), {}, out=tmp_path / "o", enqueue=False)
    done = export_snapshot(snapshot.pk)
    assert done is not None and done.status == "done", done and done.error

    assert json.loads((tmp_path / "o" / "train.json").read_text()) == train
    assert json.loads((tmp_path / "o" / "test.json").read_text()) == test
    for split in ("train", "test"):
        for name in {
            p
            for e in (train if split == "train" else test)
            for p in e["file_path" if split == "train" else "image_path"]
        }:
            exported = (tmp_path / "o" / split / name).read_bytes()
            assert exported == (tmp_path / "hpd" / split / name).read_bytes()


def test_every_problem_is_listed_and_nothing_is_imported(tmp_path: Path, media_root: Path) -> None:
    train, test = write_hpd(tmp_path / "hpd")
    train[1]["human_preference"] = [1, -1]
    train[2]["file_path"] = ["00000_0.png", "missing.png"]
    test[1]["raw_annotations"][1]["rank"] = [1, 1, 3, 4]
    test[1]["raw_annotations"][2]["user_hash"] = test[1]["raw_annotations"][0]["user_hash"]
    test[0]["prompt"] = TRAIN_PROMPTS[0]
    (tmp_path / "hpd" / "train.json").write_text(json.dumps(train))
    (tmp_path / "hpd" / "test.json").write_text(json.dumps(test))
    (tmp_path / "hpd" / "test" / "stray.png").write_bytes(png_bytes(999))
    before, files = database_state(), media_state(media_root)

    with pytest.raises(BatchRejected) as raised:
        import_batch(tmp_path / "hpd", "hpd")

    found = {(p.where, p.message.split(";")[0]) for p in raised.value.problems}
    assert (
        "train.json entry 2",
        "'human_preference' must be two non-negative numbers with a positive sum, "
        "the larger marking the preferred image ([1, 0], [0, 1], [0.8, 0.2])",
    ) in found
    assert any(w == "train.json entry 3" and "missing.png" in m for w, m in found)
    assert any(w == "test.json entry 2 raw_annotations[2]" and "permutation" in m for w, m in found)
    assert any(w == "test.json entry 2 raw_annotations[3]" and "twice" in m for w, m in found)
    assert any(w == "test.json" and "also in train.json" in m for w, m in found)
    assert any(w == "test/stray.png" for w, _ in found)
    assert database_state() == before and media_state(media_root) == files


def test_a_second_import_of_the_same_release_is_refused(tmp_path: Path) -> None:
    write_hpd(tmp_path / "hpd")
    import_batch(tmp_path / "hpd", "hpd")
    before = database_state()
    with pytest.raises(BatchRejected) as raised:
        import_batch(tmp_path / "hpd", "hpd")
    assert all("already in project 'hpd'" in p.message for p in raised.value.problems)
    assert database_state() == before


def test_a_test_prompt_already_in_the_train_split_is_refused(tmp_path: Path) -> None:
    write_hpd(tmp_path / "first")
    import_batch(tmp_path / "first", "hpd")
    _, test = write_hpd(tmp_path / "second", seed=7)
    (tmp_path / "second" / "train.json").unlink()
    for image in (tmp_path / "second" / "train").iterdir():
        image.unlink()
    (tmp_path / "second" / "train").rmdir()
    test[0]["prompt"] = TRAIN_PROMPTS[0]
    test[1]["prompt"] = "a prompt nobody used before"
    (tmp_path / "second" / "test.json").write_text(json.dumps(test))
    before = database_state()

    with pytest.raises(BatchRejected) as raised:
        import_batch(tmp_path / "second", "hpd")

    assert [(p.where, p.message) for p in raised.value.problems] == [
        (
            "test.json entry 1",
            "this prompt is already in the train split of project 'hpd'; "
            "train and test must not share a prompt",
        )
    ]
    assert database_state() == before


def test_release_variants_import_image_path_user_hash_extra_keys_and_soft_labels(
    tmp_path: Path,
) -> None:
    train, _ = write_hpd(tmp_path / "hpd")
    for k, entry in enumerate(train):
        if k % 2:  # the public copies name the pair's images image_path
            entry["image_path"] = entry.pop("file_path")
        entry["user_hash"] = f"worker-{k % 3}"
        entry["source_dataset"] = "diffusiondb"  # an extra key, ignored
    train[0]["human_preference"] = [0.8, 0.2]
    train[1]["human_preference"] = [0.25, 0.75]
    (tmp_path / "hpd" / "train.json").write_text(json.dumps(train))

    summary = import_batch(tmp_path / "hpd", "hpd").as_dict()

    assert summary["ties_skipped"] == 0 and summary["judgments"] == len(train) + 6
    tasks = list(Task.objects.filter(batch__split="train").order_by("pk"))
    pairs = [PairJudgment.objects.select_related("annotator", "winner").get(task=t) for t in tasks]
    assert [p.annotator.external_id for p in pairs] == [e["user_hash"] for e in train]
    assert pairs[0].winner.original_name == train[0]["file_path"][0]
    assert pairs[1].winner.original_name == train[1]["image_path"][1]


def test_tied_train_pairs_are_counted_and_skipped(tmp_path: Path) -> None:
    train, _ = write_hpd(tmp_path / "hpd")
    train[1]["human_preference"] = [1, 1]
    train[2]["human_preference"] = [0.5, 0.5]
    (tmp_path / "hpd" / "train.json").write_text(json.dumps(train))
    out = io.StringIO()

    call_command("import_batch", str(tmp_path / "hpd"), "--project", "hpd", stdout=out)

    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["ties_skipped"] == 2
    assert summary["judgments"] == len(train) - 2 + 6
    assert Task.objects.filter(batch__split="train").count() == len(train) - 2


def test_test_json_ranks_are_kept_as_released_even_where_mean_ranks_tie(tmp_path: Path) -> None:
    train, test = write_hpd(tmp_path / "hpd")
    # Mean ranks 1.5, 1.5, 3, 4: derived ranks would be [1, 1, 3, 4]; the release says
    # [2, 1, 3, 4].
    test[0]["raw_annotations"] = [
        {"rank": [1, 2, 3, 4], "user_hash": "user-00"},
        {"rank": [2, 1, 3, 4], "user_hash": "user-01"},
    ]
    test[0]["rank"] = [2, 1, 3, 4]
    # A group ranked with fractional averaged ranks, as some copies carry them.
    test[1]["rank"] = [3.5, 3.0, 1.5, 1.0]
    (tmp_path / "hpd" / "test.json").write_text(json.dumps(test))
    import_batch(tmp_path / "hpd", "hpd")

    snapshot = create_export(Project.objects.get(slug="hpd"), {}, out=tmp_path / "o", enqueue=False)
    done = export_snapshot(snapshot.pk)
    assert done is not None and done.status == "done", done and done.error

    exported = json.loads((tmp_path / "o" / "test.json").read_text())
    assert exported == test
    assert [g["rank"] for g in exported] == [[2, 1, 3, 4], [3.5, 3.0, 1.5, 1.0]]
    assert json.loads((tmp_path / "o" / "train.json").read_text()) == train


def test_an_imported_group_missing_an_excluded_annotator_gets_its_rank_derived(
    tmp_path: Path,
) -> None:
    _, test = write_hpd(tmp_path / "hpd")
    test[0]["rank"] = [2, 1, 3, 4]  # the release's: unlike the mean ranks of its raters
    (tmp_path / "hpd" / "test.json").write_text(json.dumps(test))
    import_batch(tmp_path / "hpd", "hpd")
    project = Project.objects.get(slug="hpd")
    dropped = test[0]["raw_annotations"][2]
    set_excluded(
        project, User.objects.get(external_id=dropped["user_hash"]), excluded=True, by=None
    )

    snapshot = create_export(project, {"split": "test"}, out=tmp_path / "o", enqueue=False)
    done = export_snapshot(snapshot.pk)
    assert done is not None and done.status == "done", done and done.error

    first = json.loads((tmp_path / "o" / "test.json").read_text())[0]
    assert first["raw_annotations"] == test[0]["raw_annotations"][:2]
    # Mean ranks of the two kept rankings: 1.5, 1.5, 3, 4; tied means share a rank.
    assert first["rank"] == [1, 1, 3, 4]
