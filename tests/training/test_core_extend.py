"""A finished run given a larger --steps continues from its checkpoint with the
learning-rate schedule of the new total."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from tests.training.helpers import write_brightness_hpd, write_tiny_config
from training.core import TrainConfig, TrainingConfigError, train
from training.core.recipe import learning_rate

FIRST, TOTAL, WARMUP = 4, 7, 4  # the first FIRST steps are all warm-up, whatever the total


def weights(out: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = torch.load(
        out / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True
    )["state_dict"]
    return state


def lines(out: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> TrainConfig:
    root = tmp_path_factory.mktemp("extend")
    hpd = write_brightness_hpd(root / "hpd", pairs=24, test_groups=2, seed=5)
    return TrainConfig(
        train_json=hpd / "train.json",
        test_json=None,
        model=str(write_tiny_config(root)),
        out_dir=root / "run",
        allow_random_init=True,
        steps=FIRST,
        batch_size=4,
        global_batch=8,  # 3 steps per epoch: the extension crosses epoch boundaries
        lr=1e-3,
        warmup_steps=WARMUP,
        unlocked_image_groups=10,
        unlocked_text_layers=2,
        eval_every=0,
        checkpoint_every=2,
        workers=0,
        precision="fp32",
        device="cpu",
        progress=False,
    )


def test_a_larger_steps_extends_a_finished_run_from_its_checkpoint(
    config: TrainConfig, tmp_path: Path
) -> None:
    # During warm-up the rate does not depend on the total, so a FIRST-step run extended
    # to TOTAL must end exactly where an uninterrupted TOTAL-step run does.
    train(TrainConfig(**{**vars(config), "out_dir": tmp_path / "u", "steps": TOTAL}))
    short = TrainConfig(**{**vars(config), "out_dir": tmp_path / "e"})
    train(short)
    first_lines = lines(tmp_path / "e")

    result = train(TrainConfig(**{**vars(short), "steps": TOTAL, "resume": "latest"}))

    assert result.step == TOTAL
    assert (result.summary()["train_pairs"], result.summary()["ties_skipped"]) == (24, 0)
    expected, extended = weights(tmp_path / "u"), weights(tmp_path / "e")
    assert [key for key in expected if not torch.equal(expected[key], extended[key])] == []
    logged = lines(tmp_path / "e")
    assert logged[:FIRST] == first_lines
    assert logged[FIRST] == {
        "step": FIRST,
        "event": "extended",
        "from_total_steps": FIRST,
        "total_steps": TOTAL,
    }
    steps = logged[FIRST + 1 :]
    assert [line["step"] for line in steps] == list(range(FIRST + 1, TOTAL + 1))
    assert [line["lr"] for line in steps] == [
        learning_rate(step, config.lr, WARMUP, TOTAL) for step in range(FIRST, TOTAL)
    ]
    assert [line["loss"] for line in steps] == [
        line["loss"] for line in lines(tmp_path / "u")[FIRST:]
    ]
    state = torch.load(result.checkpoint, map_location="cpu", weights_only=True)
    assert state["schedule"]["total_steps"] == TOTAL and state["train_config"]["steps"] == TOTAL
    assert state["data_position"]["pairs_consumed"] == TOTAL * config.global_batch
    # Asked again with the same total, the extended run is finished: nothing is noted twice.
    assert train(TrainConfig(**{**vars(short), "steps": TOTAL, "resume": "latest"})) == result
    assert lines(tmp_path / "e") == logged


def test_extending_with_another_run_defining_setting_still_refuses(
    config: TrainConfig, tmp_path: Path
) -> None:
    short = TrainConfig(**{**vars(config), "out_dir": tmp_path / "r", "steps": 2})
    train(short)
    before = (tmp_path / "r" / "checkpoints" / "latest.pt").read_bytes()

    with pytest.raises(TrainingConfigError) as raised:
        train(TrainConfig(**{**vars(short), "steps": 5, "resume": "latest", "seed": 9}))

    message = str(raised.value)
    assert "cannot resume a different run (seed=" in message and "steps=" not in message
    assert (tmp_path / "r" / "checkpoints" / "latest.pt").read_bytes() == before
