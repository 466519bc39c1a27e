"""The HPS v2 benchmark: the release's figures, its own code agreeing, missing images."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from django.core.management import CommandError, call_command
from PIL import Image

from scoring.benchmark_cli import benchmark_main
from scoring.core.benchmark_stats import BENCHMARK_STYLES
from tests.official_hpsv2 import official
from tests.scoring.helpers import (
    BENCHMARK_SIZES,
    REPO,
    release_torchvision,
    write_benchmark,
    write_tiny_model,
)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("benchmark")
    config, checkpoint = write_tiny_model(root / "model")
    prompts, folders = write_benchmark(root, {"gen-a": 1})
    return {
        "root": root,
        "config": config,
        "checkpoint": checkpoint,
        "prompts": prompts,
        "images": folders["gen-a"],
    }


def module_benchmark(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scoring", "benchmark", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def common_args(bench: dict[str, Any], images: Path | None = None) -> list[str]:
    return [
        "--model",
        str(bench["config"]),
        "--checkpoint",
        str(bench["checkpoint"]),
        "--prompts",
        str(bench["prompts"]),
        "--images",
        str(images or bench["images"]),
        "--device",
        "cpu",
        "--batch-size",
        "32",
        "--bootstrap",
        "300",
    ]


def run_command(*args: str) -> tuple[dict[str, Any], str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("benchmark", *args, stdout=out, stderr=err)
    lines = out.getvalue().strip().splitlines()
    return json.loads(lines[-1]), err.getvalue()


def official_tiny_model(config: Path, checkpoint: Path) -> tuple[Any, Any, Any]:
    """The release's own model code and validation transform for the tiny config."""
    open_clip = official("hpsv2.src.open_clip")
    open_clip.add_model_config(config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, _, preprocess_val = open_clip.create_model_and_transforms(
            config.stem,
            None,
            precision="amp",
            device="cpu",
            jit=False,
            force_quick_gelu=False,
            force_custom_text=False,
            force_patch_dropout=False,
            force_image_size=None,
            pretrained_image=False,
            image_mean=None,
            image_std=None,
            light_augmentation=True,
            aug_cfg={},
            output_dict=True,
            with_score_predictor=False,
            with_region_predictor=False,
        )
    model.load_state_dict(torch.load(checkpoint, map_location="cpu")["state_dict"])
    model.eval()
    return model, preprocess_val, open_clip.get_tokenizer(config.stem)


def official_image_scores(bench: dict[str, Any], style: str, official_model: Any) -> list[float]:
    """100 x cosine per image by the release's model and transform, one image at a time."""
    model, preprocess_val, tokenizer = official_model
    prompts = json.loads((bench["prompts"] / f"{style}.json").read_text())
    scores = []
    with torch.no_grad():
        for index, prompt in enumerate(prompts):
            image = preprocess_val(Image.open(bench["images"] / style / f"{index:05d}.jpg"))
            outputs = model(image.unsqueeze(0), tokenizer([prompt]))
            cosine = outputs["image_features"] @ outputs["text_features"].T
            scores.append(100 * float(cosine[0, 0]))
    return scores


def test_module_figures_are_the_release_formula_on_the_release_scores(
    bench: dict[str, Any],
) -> None:
    done = module_benchmark(*common_args(bench), "--generator", "gen-a")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["generator"] == "gen-a"
    assert result["model"] == "tiny.pt"
    assert (result["precision"], result["antialias"]) == ("fp32", False)
    assert result["skipped"] == [] and result["comparison"] is None
    assert list(result["styles"]) == list(BENCHMARK_STYLES)

    every = []
    theirs = official_tiny_model(bench["config"], bench["checkpoint"])
    with release_torchvision(antialias=False):
        for style in BENCHMARK_STYLES:
            scores = official_image_scores(bench, style, theirs)
            every += scores
            # The release's formula, independently: numpy over consecutive 80-score chunks.
            chunks = [np.mean(scores[i : i + 80]) for i in range(0, len(scores), 80)]
            figure = result["styles"][style]
            assert figure["images"] == BENCHMARK_SIZES[style]
            assert figure["mean"] == pytest.approx(np.mean(chunks), abs=1e-4)
            assert figure["std"] == pytest.approx(np.std(chunks), abs=1e-4)
            assert figure["ci_low"] < figure["mean"] < figure["ci_high"]
    assert result["average"]["mean"] == pytest.approx(np.mean(every), abs=1e-4)
    assert result["average"]["images"] == sum(BENCHMARK_SIZES.values())
    assert result["average"]["ci_low"] < result["average"]["mean"] < result["average"]["ci_high"]
    # Random weights still give distinct chunks: the std comparison is not trivially 0.
    assert result["styles"]["anime"]["std"] > 0
    assert "anime" in done.stdout and "95% CI" in done.stdout


def test_the_release_evaluate_benchmark_prints_our_figures(bench: dict[str, Any]) -> None:
    evaluation = official("hpsv2.evaluation")
    model, preprocess_val, tokenizer = official_tiny_model(bench["config"], bench["checkpoint"])
    printed = io.StringIO()
    with (
        release_torchvision(antialias=False),
        contextlib.redirect_stdout(printed),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")  # its CUDA autocast warns on a CPU
        evaluation.evaluate_benchmark(
            str(bench["prompts"]),
            str(bench["images"]),
            model,
            20,
            preprocess_val,
            tokenizer,
            "cpu",
        )
    theirs = {}
    for line in printed.getvalue().splitlines():
        match = re.match(r"gen-a (\S+)\s+(-?[\d.]+)(?:\s+(-?[\d.]+))?", line)
        if match:
            theirs[match[1]] = (float(match[2]), match[3] and float(match[3]))
    assert set(theirs) == {*BENCHMARK_STYLES, "Average"}, printed.getvalue()

    ours, _ = run_command(*common_args(bench), "--generator", "gen-a")
    for style in BENCHMARK_STYLES:
        mean, std = theirs[style]
        assert round(ours["styles"][style]["mean"], 2) == mean
        assert round(ours["styles"][style]["std"], 4) == pytest.approx(std, abs=1e-4)
    assert round(ours["average"]["mean"], 2) == theirs["Average"][0]


def test_a_missing_image_is_an_error_naming_it_unless_allowed(
    bench: dict[str, Any], tmp_path: Path
) -> None:
    prompts, folders = write_benchmark(
        tmp_path, {"gen-m": 5}, sizes={style: 3 for style in BENCHMARK_STYLES}
    )
    missing = folders["gen-m"] / "paintings" / "00001.jpg"
    missing.unlink()
    args = [
        "--model",
        str(bench["config"]),
        "--checkpoint",
        str(bench["checkpoint"]),
        "--prompts",
        str(prompts),
        "--images",
        str(folders["gen-m"]),
        "--bootstrap",
        "50",
    ]
    with pytest.raises(CommandError) as failed:
        run_command(*args)
    assert f"{missing}: image missing" in str(failed.value)
    assert "--allow-missing" in str(failed.value)

    result, stderr = run_command(*args, "--allow-missing")
    assert result["skipped"] == [
        {"style": "paintings", "index": 1, "file": str(missing), "reason": "missing"}
    ]
    assert f"skipped {missing}: missing" in stderr
    assert result["styles"]["paintings"]["images"] == 2
    assert result["average"]["images"] == 11


def test_an_unreadable_image_is_an_error_naming_it(bench: dict[str, Any], tmp_path: Path) -> None:
    prompts, folders = write_benchmark(
        tmp_path, {"gen-b": 6}, sizes={style: 2 for style in BENCHMARK_STYLES}
    )
    broken = folders["gen-b"] / "photo" / "00000.jpg"
    broken.write_bytes(b"\xff\xd8\xff not really a jpeg")
    args = [
        "--model",
        str(bench["config"]),
        "--checkpoint",
        str(bench["checkpoint"]),
        "--prompts",
        str(prompts),
        "--images",
        str(folders["gen-b"]),
        "--bootstrap",
        "50",
    ]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert benchmark_main(args) == 2
    assert out.getvalue() == ""
    assert f"error: {broken}: cannot be decoded" in err.getvalue()

    result, stderr = run_command(*args, "--allow-missing")
    assert [s["file"] for s in result["skipped"]] == [str(broken)]
    assert f"skipped {broken}:" in stderr
    assert result["styles"]["photo"]["images"] == 1


def test_layout_errors_name_the_file(bench: dict[str, Any], tmp_path: Path) -> None:
    prompts, folders = write_benchmark(
        tmp_path, {"gen-c": 7}, sizes={style: 1 for style in BENCHMARK_STYLES}
    )
    args = [
        "--model",
        str(bench["config"]),
        "--checkpoint",
        str(bench["checkpoint"]),
        "--prompts",
        str(prompts),
        "--images",
        str(folders["gen-c"]),
    ]
    (prompts / "photo.json").write_text('["a prompt", 3]')
    with pytest.raises(CommandError, match=r"photo\.json: item 1 is int, not a prompt string"):
        run_command(*args)
    (prompts / "photo.json").unlink()
    with pytest.raises(CommandError, match=r"photo\.json: prompt file not found"):
        run_command(*args)
    with pytest.raises(CommandError, match="--bootstrap must be at least 1, got 0"):
        run_command(*args, "--bootstrap", "0")


def test_two_generators_get_a_paired_comparison(bench: dict[str, Any], tmp_path: Path) -> None:
    sizes = {style: 40 for style in BENCHMARK_STYLES}
    prompts, folders = write_benchmark(tmp_path, {"same": 11, "other": 11}, sizes=sizes)
    args = [
        "--model",
        str(bench["config"]),
        "--checkpoint",
        str(bench["checkpoint"]),
        "--prompts",
        str(prompts),
        "--bootstrap",
        "300",
    ]
    same, _ = run_command(
        *args, "--images", str(folders["same"]), "--compare-images", str(folders["other"])
    )
    comparison = same["comparison"]
    assert comparison["generator"] == "other"
    for name in (*BENCHMARK_STYLES, "average"):
        difference = comparison["difference"][name]
        # Identical images: exactly no difference, and an interval that says so.
        assert difference["difference"] == pytest.approx(0, abs=1e-9)
        assert not difference["excludes_zero"]
    assert comparison["difference"]["average"]["prompts"] == 160
