"""`python -m scoring` and `manage.py score` print the same JSON list of scores."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from scoring.core import Scorer, load_model
from tests.scoring.helpers import write_images, write_tiny_model

REPO = Path(__file__).resolve().parents[2]


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scoring", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_module_and_management_command_print_the_same_scores(tmp_path: Path) -> None:
    config, checkpoint = write_tiny_model(tmp_path)
    images = [str(p) for p in write_images(tmp_path / "img", [(80, 40), (50, 50), (33, 77)])]
    common = ["--model", str(config), "--checkpoint", str(checkpoint), "--prompt", "a red fox"]

    done = run_module(*common, "--batch-size", "2", "--device", "cpu", *images)
    out = io.StringIO()
    call_command("score", *common, *images, stdout=out)

    assert done.returncode == 0, done.stderr
    from_module = json.loads(done.stdout)
    from_command = json.loads(out.getvalue())
    expected = Scorer(load_model(str(config), checkpoint)).score("a red fox", images).scores
    assert from_module == pytest.approx(expected, abs=1e-6)
    assert from_command == pytest.approx(expected, abs=1e-6)


def test_broken_image_fails_the_command_naming_it(tmp_path: Path) -> None:
    config, checkpoint = write_tiny_model(tmp_path)
    (good,) = write_images(tmp_path / "img", [(40, 40)])
    bad = tmp_path / "img" / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    common = ["--model", str(config), "--checkpoint", str(checkpoint), "--prompt", "a fox"]

    done = run_module(*common, str(good), str(bad))
    assert done.returncode == 2
    assert done.stdout == ""
    assert f"error: {bad}: cannot be decoded" in done.stderr

    skipped = run_module(*common, "--skip-broken", str(good), str(bad))
    assert skipped.returncode == 0, skipped.stderr
    scores = json.loads(skipped.stdout)
    assert scores[1] is None and isinstance(scores[0], float)
    assert f"skipped {bad}:" in skipped.stderr

    with pytest.raises(CommandError, match=r"bad\.png: cannot be decoded"):
        call_command("score", *common, str(good), str(bad), stdout=io.StringIO())


def test_missing_checkpoint_fails_with_the_reason(tmp_path: Path) -> None:
    config, _ = write_tiny_model(tmp_path)
    (image,) = write_images(tmp_path / "img", [(40, 40)])
    done = run_module(
        "--model", str(config), "--checkpoint", "nope.pt", "--prompt", "x", str(image)
    )
    assert done.returncode == 2
    assert "error: nope.pt: checkpoint file not found" in done.stderr
    with pytest.raises(CommandError, match="--batch-size must be at least 1, got 0"):
        call_command(
            "score",
            "--model",
            str(config),
            "--checkpoint",
            "x.pt",
            "--prompt",
            "x",
            "--batch-size",
            "0",
            str(image),
            stdout=io.StringIO(),
        )
