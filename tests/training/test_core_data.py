"""HPD v2 readers, the dataset and the data order: clear errors, nothing swapped silently."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from torch.utils.data import DataLoader

from tests.training.helpers import write_brightness_hpd, write_tiny_config
from training.core import TrainConfig, TrainingDataError, train
from training.core.data import (
    PairDataset,
    PairOrderSampler,
    read_test_groups,
    read_train_data,
    read_train_pairs,
)

REPO = Path(__file__).resolve().parents[2]
MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


@pytest.fixture
def hpd(tmp_path: Path) -> Path:
    return write_brightness_hpd(tmp_path / "hpd", pairs=8, test_groups=2)


def test_readers_resolve_images_against_the_split_folders(hpd: Path) -> None:
    pairs = read_train_pairs(hpd / "train.json")
    groups = read_test_groups(hpd / "test.json")

    assert len(pairs) == 8 and len(groups) == 2
    assert pairs[0].images[0] == hpd / "train" / "p0000-a.png"
    assert sorted(pairs[0].preference) == [0.0, 1.0]
    assert groups[1].images[3] == hpd / "test" / "g001-3.png"
    assert sorted(groups[1].ranks) == [1.0, 2.0, 3.0, 4.0]


def test_soft_preferences_are_normalised_to_probabilities(hpd: Path) -> None:
    entries = json.loads((hpd / "train.json").read_text())
    entries[0]["human_preference"] = [3, 1]
    (hpd / "train.json").write_text(json.dumps(entries))

    assert read_train_pairs(hpd / "train.json")[0].preference == (0.75, 0.25)


def test_release_copies_name_pairs_image_path_and_ties_are_counted_and_skipped(
    hpd: Path,
) -> None:
    entries = json.loads((hpd / "train.json").read_text())
    entries[0]["image_path"] = entries[0].pop("file_path")
    entries[0]["user_hash"] = "a1b2"  # extra keys of the public copies are ignored
    entries[1]["human_preference"] = [1, 1]
    entries[2]["human_preference"] = [0.5, 0.5]
    (hpd / "train" / entries[2]["file_path"][0]).unlink()  # a skipped tie needs no image
    (hpd / "train.json").write_text(json.dumps(entries))

    data = read_train_data(hpd / "train.json")

    assert data.ties_skipped == 2 and len(data.pairs) == 6
    assert data.pairs[0].images == tuple(hpd / "train" / n for n in entries[0]["image_path"])
    assert [p.images[0].name for p in data.pairs[1:]] == [e["file_path"][0] for e in entries[3:]]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e[2].pop("file_path"), "entry 2: missing key 'file_path'"),
        (lambda e: e[1].update(human_preference=[1]), "entry 1: 'human_preference' must be"),
        (lambda e: e[0].update(human_preference=[-1, 2]), "entry 0: 'human_preference' must be"),
        (lambda e: e[3].update(prompt=""), "entry 3: 'prompt' must be a non-empty string"),
        (lambda e: e[4].update(file_path=["a.png"]), "'file_path' must be a list of exactly 2"),
    ],
)
def test_bad_train_entries_name_the_file_and_entry(
    hpd: Path, change: Callable[[list[dict[str, Any]]], object], message: str
) -> None:
    entries = json.loads((hpd / "train.json").read_text())
    change(entries)
    (hpd / "train.json").write_text(json.dumps(entries))

    with pytest.raises(TrainingDataError) as caught:
        read_train_pairs(hpd / "train.json")
    assert str(caught.value).startswith(str(hpd / "train.json"))
    assert message in str(caught.value)


def test_bad_json_and_missing_files_name_the_file(hpd: Path) -> None:
    (hpd / "test.json").write_text('[{"prompt": "a", ')
    with pytest.raises(TrainingDataError, match=r"test\.json: is not valid JSON"):
        read_test_groups(hpd / "test.json")
    with pytest.raises(TrainingDataError, match=r"nowhere\.json: train\.json not found"):
        read_train_pairs(hpd / "nowhere.json")
    (hpd / "train.json").write_text("{}")
    with pytest.raises(TrainingDataError, match="must hold a non-empty JSON list"):
        read_train_pairs(hpd / "train.json")


def test_missing_images_are_named_before_training(hpd: Path) -> None:
    (hpd / "train" / "p0005-b.png").unlink()
    (hpd / "test" / "g001-2.png").unlink()

    with pytest.raises(TrainingDataError) as train_error:
        read_train_pairs(hpd / "train.json")
    with pytest.raises(TrainingDataError) as test_error:
        read_test_groups(hpd / "test.json")
    assert str(train_error.value).startswith(f"{hpd / 'train' / 'p0005-b.png'}: image not found")
    assert "entry 5" in str(train_error.value)
    assert str(test_error.value).startswith(f"{hpd / 'test' / 'g001-2.png'}: image not found")


@pytest.mark.parametrize("workers", [0, 2])
def test_a_broken_image_raises_naming_it_never_replaced(hpd: Path, workers: int) -> None:
    broken = hpd / "train" / "p0003-a.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    dataset = PairDataset(read_train_pairs(hpd / "train.json"), 32, MEAN, STD, hpd / "train.json")
    context = "spawn" if workers else None  # as the training loop starts its workers
    loader = DataLoader(dataset, batch_size=2, num_workers=workers, multiprocessing_context=context)

    with pytest.raises(TrainingDataError) as caught:
        list(loader)
    message = str(caught.value)
    assert message.startswith(f"{broken}: cannot be decoded")
    assert "\n" not in message  # one line, even when raised in a worker process


def test_dataset_items_are_the_release_preprocessing_of_both_images(hpd: Path) -> None:
    pairs = read_train_pairs(hpd / "train.json")
    pixels, prompt, preference = PairDataset(pairs, 32, MEAN, STD, hpd / "train.json")[0]

    assert pixels.shape == (2, 3, 32, 32)
    assert prompt == pairs[0].prompt
    assert preference.tolist() == list(pairs[0].preference)
    # 40x48 images: resized to 27x32 (long side 32), padded with black top and bottom.
    black = (0 - 0.5) / 0.25
    assert torch.allclose(pixels[0, :, 0, :], torch.full((3, 32), black))
    assert pixels[0, :, 16, :].min() > black


def test_each_step_takes_one_block_of_the_epoch_order_however_it_is_split() -> None:
    """20 pairs, 8 per step: 2 steps per epoch (4 pairs dropped), epochs reshuffled."""

    def step_sets(world: int, start: int = 0, stop: int = 5) -> list[set[int]]:
        per_rank = [
            list(PairOrderSampler(20, 8, seed=3, start_step=start, stop_step=stop, rank=r,
                                  world_size=world))
            for r in range(world)
        ]  # fmt: skip
        per_step = 8 // world
        assert all(len(indices) == (stop - start) * per_step for indices in per_rank)
        return [
            {i for rank in per_rank for i in rank[s * per_step : (s + 1) * per_step]}
            for s in range(stop - start)
        ]

    sampler = PairOrderSampler(20, 8, seed=3, start_step=0, stop_step=5)
    orders = [sampler.epoch_order(epoch).tolist() for epoch in range(3)]
    blocks = [set(order[k : k + 8]) for order in orders for k in (0, 8)][:5]
    assert step_sets(world=1) == blocks
    assert step_sets(world=2) == blocks
    assert step_sets(world=4) == blocks
    assert step_sets(world=2, start=3) == blocks[3:]  # resumed mid-epoch
    assert orders[0] != orders[1]
    assert sampler.epoch_order(0).tolist() == orders[0]
    assert len(PairOrderSampler(20, 8, seed=3, start_step=1, stop_step=5, rank=1,
                                world_size=2)) == 16  # fmt: skip


def test_training_on_a_broken_image_fails_naming_it(hpd: Path, tmp_path: Path) -> None:
    broken = hpd / "train" / "p0001-b.png"
    broken.write_bytes(b"GIF89a truncated")
    config = TrainConfig(
        train_json=hpd / "train.json",
        test_json=None,
        model=str(write_tiny_config(tmp_path)),
        out_dir=tmp_path / "run",
        allow_random_init=True,
        steps=2,
        batch_size=4,
        global_batch=8,
        workers=0,
        progress=False,
    )
    with pytest.raises(TrainingDataError, match=f"^{broken}: cannot be decoded"):
        train(config)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "training", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_cli_exits_non_zero_with_one_line_naming_the_bad_file(hpd: Path, tmp_path: Path) -> None:
    model = str(write_tiny_config(tmp_path))
    common = [
        "--model",
        model,
        "--allow-random-init",
        "--steps",
        "2",
        "--batch-size",
        "4",
        "--global-batch",
        "8",
        "--no-progress",
    ]
    broken = hpd / "train" / "p0002-a.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    decoded = run_cli(
        "--train", str(hpd / "train.json"), "--out", str(tmp_path / "a"), "--workers", "1", *common
    )
    (hpd / "test.json").write_text("not json")
    bad_json = run_cli(
        "--train",
        str(hpd / "train.json"),
        "--test",
        str(hpd / "test.json"),
        "--out",
        str(tmp_path / "b"),
        *common,
    )

    for done, name, what in [
        (decoded, broken, "cannot be decoded"),
        (bad_json, hpd / "test.json", "is not valid JSON"),
    ]:
        assert done.returncode == 2, done.stderr
        assert done.stdout == ""
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1
        assert lines[0].startswith(f"error: {name}: {what}")
