"""A run killed with SIGKILL and resumed ends with exactly the weights of an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.training.helpers import write_brightness_hpd, write_tiny_config

REPO = Path(__file__).resolve().parents[2]
STEPS = 30  # 64 pairs / 8 per step = 8 steps per epoch: the run crosses 3 epoch boundaries


def command(hpd: Path, model: Path, out: Path, workers: int, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "training",
        "--train", str(hpd / "train.json"), "--test", str(hpd / "test.json"),
        "--model", str(model), "--out", str(out), "--allow-random-init",
        "--steps", str(STEPS), "--batch-size", "4", "--global-batch", "8",
        "--lr", "1e-3", "--warmup-steps", "3", "--unlocked-image-groups", "10",
        "--unlocked-text-layers", "2", "--checkpoint-every", "3", "--eval-every", "10",
        "--workers", str(workers), "--precision", "fp32", "--device", "cpu", "--no-progress",
        *extra,
    ]  # fmt: skip


def run(args: list[str]) -> dict[str, object]:
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr
    summary: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary


def weights(out: Path) -> dict[str, torch.Tensor]:
    state: dict[str, torch.Tensor] = torch.load(
        out / "checkpoints" / "latest.pt", map_location="cpu", weights_only=True
    )["state_dict"]
    return state


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("resume")
    hpd = write_brightness_hpd(root / "hpd", pairs=64, test_groups=4, seed=3)
    model = write_tiny_config(root)
    run(command(hpd, model, root / "uninterrupted", 0))
    return hpd, model, root


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_after_sigkill_equals_the_uninterrupted_run(
    setup: tuple[Path, Path, Path], workers: int
) -> None:
    hpd, model, root = setup
    out = root / f"killed-{workers}"
    latest = out / "checkpoints" / "latest.pt"
    process = subprocess.Popen(
        command(hpd, model, out, workers),
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 180
    while not latest.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = torch.load(latest, map_location="cpu", weights_only=True)["step"]
    assert 3 <= killed_at < STEPS

    summary = run(command(hpd, model, out, workers, "--resume", "latest"))

    assert summary["step"] == STEPS
    expected, resumed = weights(root / "uninterrupted"), weights(out)
    assert sorted(resumed) == sorted(expected)
    unequal = [key for key in expected if not torch.equal(expected[key], resumed[key])]
    assert unequal == []
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == list(range(1, STEPS + 1))
    reference = (root / "uninterrupted" / "metrics.jsonl").read_text().splitlines()
    losses = [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert losses == [json.loads(line)["loss"] for line in reference]
