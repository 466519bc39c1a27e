"""A short run learns a synthetic preference; its checkpoint and metrics are usable."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch

from scoring.core import Scorer, load_model
from scoring.core.images import preprocess_image
from tests.official_hpsv2 import official
from tests.training.helpers import TINY_CONFIG, write_brightness_hpd, write_tiny_config
from training.core import (
    TrainConfig,
    TrainingConfigError,
    TrainResult,
    evaluate_ranking_accuracy,
    train,
)

STEPS, EVAL_EVERY = 40, 15


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[TrainConfig, TrainResult]:
    """Brighter always wins: 128 train pairs, 24 held-out groups of 4 images."""
    root = tmp_path_factory.mktemp("brightness")
    hpd = write_brightness_hpd(root / "hpd", pairs=128, test_groups=24, seed=7)
    config = TrainConfig(
        train_json=hpd / "train.json",
        test_json=hpd / "test.json",
        model=str(write_tiny_config(root)),
        out_dir=root / "run",
        allow_random_init=True,
        steps=STEPS,
        batch_size=8,
        global_batch=16,
        lr=1e-3,
        weight_decay=0.0,
        warmup_steps=5,
        unlocked_image_groups=10,  # the whole tiny image tower
        unlocked_text_layers=2,
        eval_every=EVAL_EVERY,
        checkpoint_every=20,
        workers=0,
        progress=False,
    )
    return config, train(config)


def test_loss_falls_and_held_out_ranking_accuracy_is_high(
    trained: tuple[TrainConfig, TrainResult],
) -> None:
    config, result = trained
    losses = [json.loads(line)["loss"] for line in result.metrics_path.read_text().splitlines()]

    assert result.step == STEPS and len(losses) == STEPS
    assert sum(losses[-5:]) / 5 < 0.5 * sum(losses[:5]) / 5
    assert result.final_loss == losses[-1]
    assert result.test_accuracy is not None and result.test_accuracy >= 0.90
    untrained = evaluate_ranking_accuracy(
        config.model, None, config.test_json or Path(), allow_random_init=True, device="cpu"
    )
    assert untrained < result.test_accuracy


def test_metrics_lines_hold_step_loss_lr_speed_and_accuracy_when_evaluated(
    trained: tuple[TrainConfig, TrainResult],
) -> None:
    _, result = trained
    lines = [json.loads(line) for line in result.metrics_path.read_text().splitlines()]

    assert [line["step"] for line in lines] == list(range(1, STEPS + 1))
    for line in lines:
        assert {"step", "loss", "lr", "pairs_per_s"} <= set(line)
        assert line["loss"] > 0 and line["pairs_per_s"] > 0
    evaluated = [line["step"] for line in lines if "test_accuracy" in line]
    assert evaluated == [15, 30, 40]
    assert lines[-1]["test_accuracy"] == result.test_accuracy
    assert lines[0]["lr"] == pytest.approx(1e-3 / 5)
    assert lines[4]["lr"] == pytest.approx(1e-3)


def test_checkpoint_loads_and_scores_with_the_scorer(
    trained: tuple[TrainConfig, TrainResult],
) -> None:
    config, result = trained
    saved = torch.load(result.checkpoint, map_location="cpu", weights_only=True)

    assert saved["step"] == STEPS and saved["model_config"] == TINY_CONFIG
    assert result.model_config == TINY_CONFIG
    assert not any(key.startswith("module.") for key in saved["state_dict"])
    assert saved["train_config"]["lr"] == 1e-3
    accuracy = evaluate_ranking_accuracy(
        config.model, result.checkpoint, config.test_json or Path(), device="cpu"
    )
    assert accuracy == pytest.approx(result.test_accuracy)
    hps = load_model(config.model, result.checkpoint)
    images = sorted((config.train_json.parent / "test").glob("g000-*.png"))
    assert len(Scorer(hps).score("a photo of a cat", images).scores) == 4


def test_checkpoint_loads_in_the_official_release_and_scores_the_same(
    trained: tuple[TrainConfig, TrainResult],
) -> None:
    config, result = trained
    open_clip = official("hpsv2.src.open_clip")
    open_clip.add_model_config(Path(config.model))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = open_clip.create_model(Path(config.model).stem, None, device="cpu")
    model.load_state_dict(torch.load(result.checkpoint, map_location="cpu")["state_dict"])
    model.eval()
    images = sorted((config.train_json.parent / "test").glob("g001-*.png"))
    hps = load_model(config.model, result.checkpoint)
    pixels = torch.stack(
        [preprocess_image(path, str(path), hps.image_size, hps.mean, hps.std) for path in images]
    )  # the release's own transform gives the same pixels (tests/scoring)
    tokens = open_clip.get_tokenizer(Path(config.model).stem)(["a red fox in snow"])
    with torch.no_grad():
        image_features = torch.nn.functional.normalize(model.encode_image(pixels), dim=-1)
        text_features = torch.nn.functional.normalize(model.encode_text(tokens), dim=-1)
    theirs = (image_features @ text_features.T).squeeze(1).tolist()

    ours = Scorer(hps).score("a red fox in snow", images).scores
    assert ours == pytest.approx(theirs, abs=1e-5)


def test_a_finished_run_is_returned_and_an_unfinished_one_needs_resume(
    trained: tuple[TrainConfig, TrainResult], tmp_path: Path
) -> None:
    config, result = trained
    before = result.checkpoint.stat().st_mtime_ns

    again = train(config)

    assert again == result
    assert result.checkpoint.stat().st_mtime_ns == before
    half = TrainConfig(
        **{
            **vars(config),
            "out_dir": tmp_path / "half",
            "steps": 4,
            "checkpoint_every": 2,
            "eval_every": 0,
        }
    )
    train(half)
    longer = TrainConfig(**{**vars(half), "steps": 8})
    with pytest.raises(TrainingConfigError, match="already holds a run stopped at step 4"):
        train(longer)
    with pytest.raises(TrainingConfigError, match=r"cannot resume a different run \(lr="):
        train(TrainConfig(**{**vars(longer), "resume": "latest", "lr": 2e-3}))
