"""benchmarks/gpu_training.py runs on a CPU with a tiny model and refuses without CUDA."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.training.helpers import write_tiny_config

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_training.py"


def test_smoke_run_on_cpu_writes_the_figures(tmp_path: Path) -> None:
    model = write_tiny_config(tmp_path)
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--device", "cpu", "--model", str(model), "--steps", "2",
         "--warmup-steps", "1", "--batch-size", "4", "--global-batch", "8"],
        cwd=REPO, capture_output=True, text=True, timeout=180, check=False,
        env={**os.environ, "OUT": str(tmp_path)},
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    result = json.loads((tmp_path / "gpu_training.json").read_text())
    assert result["accumulation"] == 2 and result["timed_steps"] == 2
    assert result["unlocked_image_blocks"] == 2 and result["unlocked_text_blocks"] == 2
    assert result["pairs_per_s_per_gpu"] > 0
    assert result["mfu"] == result["achieved_tflops"] / 800
    assert "pairs/s per GPU" in done.stdout


def test_vit_h_14_flops_per_pair_give_the_ideal_of_about_516_pairs_per_second() -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    from gpu_training import flops_per_pair

    from training.core.loop import model_config_of

    flops = flops_per_pair(model_config_of("ViT-H-14")[0], 19, 11)
    assert round(flops["image_forward"] / 1e9, 1) == 334.6  # as benchmarks/gpu_scoring.py
    assert 510 < 800e12 / flops["total"] < 520


def test_refuses_politely_without_cuda() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT)], cwd=REPO, capture_output=True, text=True, timeout=120,
        check=False, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )  # fmt: skip
    assert done.returncode == 2
    assert "no CUDA device here" in done.stderr
