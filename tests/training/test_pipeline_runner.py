"""How the pipeline launches training: the process count setting, and a torchrun child
that dies with the worker that started it."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from training import runner

REPO = Path(__file__).resolve().parents[2]


def test_training_gpus_is_all_or_a_positive_count_and_says_so_otherwise() -> None:
    assert runner.process_count("all") == max(runner.visible_gpus(), 1)
    assert runner.process_count("3") == 3
    for wrong in ("two", "0", "-1"):
        with pytest.raises(runner.TrainingFailed, match="TRAINING_GPUS"):
            runner.process_count(wrong)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state  # a zombie has already died


def test_a_training_child_dies_when_the_worker_that_started_it_is_killed() -> None:
    worker = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, time\n"
         "from training.runner import die_with_parent\n"
         "child = subprocess.Popen(['sleep', '120'], preexec_fn=die_with_parent)\n"
         "print(child.pid, flush=True)\n"
         "time.sleep(120)\n"],
        cwd=REPO, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert worker.stdout is not None
    child = int(worker.stdout.readline())
    assert alive(child)

    worker.kill()  # SIGKILL: no handler of the worker runs
    worker.wait()

    deadline = time.monotonic() + 30
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child), "the child outlived the worker"


def test_the_torchrun_command_asks_the_cli_to_resume_its_latest_checkpoint(
    tmp_path: Path,
) -> None:
    job = runner.TrainingJob(
        train_json=tmp_path / "train.json",
        test_json=None,
        model="ViT-H-14",
        out_dir=tmp_path / "out",
        checkpoint=tmp_path / "start.pt",
        recipe={"steps": 10},
    )
    command = runner.torchrun_command(job, 4)
    assert command[1:7] == ["-m", "torch.distributed.run", "--standalone",
                            "--nproc-per-node", "4", "-m"]  # fmt: skip
    joined = " ".join(command)
    assert "--resume latest" in joined and "--steps 10" in joined
    assert "--test" not in command and command[-1] == "--no-progress"
