"""Held-out generators: their pairs never reach training, and the report separates
accuracy on seen generators from accuracy on held-out ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from annotation.export.rich_files import PAIR_SCHEMA
from scoring.core import load_model
from scoring.core.evaluation_stats import ScoredGroup, evaluate_groups
from tests.training.helpers import write_brightness_hpd, write_tiny_config
from training import cli
from training.core import TrainConfig, TrainingDataError, train
from training.core import loop as loop_module
from training.core.data import PairDataset, read_image_generators
from training.core.evaluation import generator_report

GENERATORS = ("sd-1.4", "dalle-2", "vqgan")


def generator_of(name: str) -> str:
    """p0007-a.png -> a generator by pair index and side, so that every generator meets
    every other one across the pairs; g003-2.png -> by image position."""
    stem = Path(name).stem
    if stem.startswith("p"):
        index, side = int(stem[1:5]), stem[-1]
        return GENERATORS[(index + (side == "b")) % len(GENERATORS)]
    return GENERATORS[int(stem.split("-")[1]) % len(GENERATORS)]


def write_pair_table(root: Path) -> None:
    """The export's pairs.parquet (annotation/export/rich_files.py's schema) for the
    images of train/ and test/."""
    names = sorted(f"{p.parent.name}/{p.name}" for p in root.glob("t*/*.png"))
    rows: dict[str, list[Any]] = {field.name: [] for field in PAIR_SCHEMA}
    for winner, loser in zip(names, names[1:] + names[:1], strict=True):
        row = {
            "split": winner.split("/")[0],
            "task": 1,
            "judgment": 1,
            "annotator": "a",
            "prompt": "p",
            "style": "photo",
            "winner_sha256": winner,
            "loser_sha256": loser,
            "winner_generator": generator_of(winner),
            "loser_generator": generator_of(loser),
            "winner_path": winner,
            "loser_path": loser,
            "is_tie": 0,
        }
        for key, value in row.items():
            rows[key].append(value)
    pq.write_table(pa.Table.from_pydict(rows, schema=PAIR_SCHEMA), root / "pairs.parquet")


def tiny_config(root: Path, hpd: Path, **changes: Any) -> TrainConfig:
    values: dict[str, Any] = {
        "train_json": hpd / "train.json",
        "test_json": None,
        "model": str(write_tiny_config(root)),
        "out_dir": root / "run",
        "allow_random_init": True,
        "steps": 3,
        "batch_size": 4,
        "global_batch": 8,
        "warmup_steps": 1,
        "eval_every": 0,
        "checkpoint_every": 10,
        "workers": 0,
        "progress": False,
    }
    return TrainConfig(**{**values, **changes})


def test_a_hold_out_run_never_loads_a_held_out_generators_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hpd = write_brightness_hpd(tmp_path / "hpd", pairs=30, test_groups=1, seed=3)
    write_pair_table(hpd)
    loaded: list[tuple[Path, Path]] = []

    class RecordingDataset(PairDataset):  # what the run's DataLoader reads
        def __getitem__(self, index: int) -> Any:
            loaded.append(self.pairs[index].images)
            return super().__getitem__(index)

    monkeypatch.setattr(loop_module, "PairDataset", RecordingDataset)

    result = train(tiny_config(tmp_path, hpd, hold_out_generators="vqgan"))

    generators = {generator_of(path.name) for pair in loaded for path in pair}
    assert len(loaded) == 3 * 8
    assert generators == {"sd-1.4", "dalle-2"}
    # pair i pairs generators i and i + 1 (mod 3): two pairs in three involve vqgan
    assert (result.train_pairs, result.held_out_pairs) == (10, 20)
    assert result.summary()["held_out_pairs"] == 20


def test_without_hold_out_every_generator_is_trained_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hpd = write_brightness_hpd(tmp_path / "hpd", pairs=16, test_groups=1, seed=4)
    loaded: list[tuple[Path, Path]] = []

    class RecordingDataset(PairDataset):
        def __getitem__(self, index: int) -> Any:
            loaded.append(self.pairs[index].images)
            return super().__getitem__(index)

    monkeypatch.setattr(loop_module, "PairDataset", RecordingDataset)
    result = train(tiny_config(tmp_path, hpd, steps=2))  # no pairs.parquet needed

    assert {generator_of(path.name) for pair in loaded for path in pair} == set(GENERATORS)
    assert (result.train_pairs, result.held_out_pairs) == (16, 0)


def test_hold_out_errors_name_the_problem_and_train_nothing(tmp_path: Path) -> None:
    hpd = write_brightness_hpd(tmp_path / "hpd", pairs=16, test_groups=1, seed=5)
    with pytest.raises(TrainingDataError, match=r"pairs\.parquet: not found"):
        train(tiny_config(tmp_path, hpd, hold_out_generators="vqgan"))
    write_pair_table(hpd)
    with pytest.raises(TrainingDataError, match=r"names vqgn, which made none.*are dalle-2"):
        train(tiny_config(tmp_path, hpd, hold_out_generators="vqgan, vqgn"))
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_the_cli_flag_is_derived_from_the_recipe_declaration(tmp_path: Path) -> None:
    argv = ["--train", "t.json", "--model", "m.json", "--out", str(tmp_path)]
    default = cli.config_from_options(cli.build_parser().parse_args(argv))
    chosen = cli.config_from_options(
        cli.build_parser().parse_args([*argv, "--hold-out-generators", "vqgan, dalle-2"])
    )
    assert default.held_out() == frozenset()
    assert chosen.held_out() == {"vqgan", "dalle-2"}


def test_the_report_separates_seen_from_held_out_generators() -> None:
    groups = [  # seen pairs: 2 of 3 right; pairs with vqgan: 1 of 3 right
        ScoredGroup([0.9, 0.5, 0.1], [1, 2, 3], ["sd", "dalle", "vqgan"]),  # all right
        ScoredGroup([0.1, 0.5, 0.9], [1, 2, 3], ["sd", "dalle", "vqgan"]),  # all wrong
        ScoredGroup([0.9, 0.1, 0.5], [1, 2, 3], ["sd", "dalle", "vqgan"]),  # vqgan>dalle wrong
    ]
    report = evaluate_groups(groups, resamples=200, held_out=frozenset({"vqgan"})).as_json()

    exposure = report["by_exposure"]
    assert isinstance(exposure, dict)
    assert exposure["seen"]["pairwise_accuracy"]["value"] == pytest.approx(2 / 3)
    assert exposure["seen"]["pairwise_accuracy"]["pairs"] == 3
    assert exposure["held_out"]["pairwise_accuracy"]["value"] == pytest.approx(3 / 6)
    assert exposure["held_out"]["pairwise_accuracy"]["pairs"] == 6
    low, high = (exposure["held_out"]["pairwise_accuracy"][k] for k in ("ci_low", "ci_high"))
    assert 0 <= low <= 0.5 <= high <= 1
    by_generator = report["by_generator"]
    assert isinstance(by_generator, dict)
    assert by_generator["vqgan"]["held_out"] and not by_generator["sd"]["held_out"]
    assert "by_exposure" not in evaluate_groups(groups, resamples=10).as_json()
    with pytest.raises(ValueError, match="vqgn made none of the test images"):
        evaluate_groups(groups, resamples=10, held_out=frozenset({"vqgn"}))


def test_the_generator_report_reads_test_generators_from_the_export(tmp_path: Path) -> None:
    hpd = write_brightness_hpd(tmp_path / "hpd", pairs=2, test_groups=6, seed=6)
    hps = load_model(str(write_tiny_config(tmp_path)), None, random_weights=True, device="cpu")
    assert generator_report(hps, hpd / "test.json", ["vqgan"]) is None  # no pairs.parquet
    write_pair_table(hpd)
    assert read_image_generators(hpd / "test.json")[hpd / "test" / "g000-2.png"] == "vqgan"

    report = generator_report(hps, hpd / "test.json", ["vqgan"], resamples=50)

    assert report is not None
    assert set(report.by_generator) == set(GENERATORS)
    assert report.by_exposure is not None and set(report.by_exposure) == {"seen", "held_out"}
    # 6 groups of 4 images by generators 0, 1, 2, 0: 3 seen pairs and 3 with vqgan each
    exposure = report.by_exposure
    assert (exposure["seen"].count, exposure["held_out"].count) == (6 * 3, 6 * 3)
