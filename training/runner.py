"""How the pipeline calls the torch-only training core: in this process, or as a child
process (`python -m training`, or torchrun for several GPUs) that dies with its parent.

The one module of the Django side that trains with training.core (its torch parts are
imported lazily, so a web process never loads torch; the recipe's declaration, which
the child's command line is built from, is torch-free). Django-free itself: it takes
plain values and returns them.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from training.core import RECIPE_FIELDS, RecipeField, recipe_defaults

PR_SET_PDEATHSIG = 1  # linux/prctl.h


class TrainingFailed(RuntimeError):
    """Training stopped with an error; the message says what and, when known, how to fix it."""


@dataclass(frozen=True)
class TrainingJob:
    """One training of the cycle: the TrainConfig fields the pipeline sets.

    `recipe` holds the recipe fields the run sets (a policy's knobs); the others keep
    their declared defaults (training/core/config.py). An unknown name is refused.
    """

    train_json: Path
    test_json: Path | None
    model: str
    out_dir: Path
    checkpoint: Path | None = None
    pretrained: str | None = None
    device: str | None = None
    progress: bool = False
    recipe: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.recipe) - {f.name for f in RECIPE_FIELDS})
        if unknown:
            raise TrainingFailed(
                f"unknown recipe setting(s) {', '.join(unknown)}; the recipe fields are "
                f"{', '.join(f.name for f in RECIPE_FIELDS)}"
            )
        object.__setattr__(self, "recipe", {**recipe_defaults(), **self.recipe})

    @property
    def workers(self) -> int:
        return int(self.recipe["workers"])


@dataclass(frozen=True)
class TrainingOutcome:
    checkpoint: Path
    model_config: dict[str, Any]
    step: int
    final_loss: float
    test_accuracy: float | None
    metrics_path: Path


def visible_gpus() -> int:
    """CUDA devices this process sees (0 without CUDA)."""
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def process_count(setting: str | int) -> int:
    """How many training processes TRAINING_GPUS asks for ("all" = every visible GPU, at
    least one)."""
    text = str(setting).strip().lower()
    if text in ("", "all"):
        return max(visible_gpus(), 1)
    try:
        count = int(text)
    except ValueError as exc:
        raise TrainingFailed(
            f"TRAINING_GPUS={setting!r} is neither 'all' nor a number of GPUs; set it to "
            "'all' or e.g. 2"
        ) from exc
    if count < 1:
        raise TrainingFailed(f"TRAINING_GPUS={setting!r} must be 'all' or at least 1")
    return count


def train_in_process(job: TrainingJob) -> TrainingOutcome:
    """training.core.train with resume="latest" in job.out_dir (continues a killed run)."""
    from training.core import TrainConfig, TrainingConfigError, TrainingDataError, train

    config = TrainConfig(
        train_json=job.train_json,
        test_json=job.test_json,
        model=job.model,
        out_dir=job.out_dir,
        checkpoint=job.checkpoint,
        pretrained=job.pretrained,
        device=job.device,
        progress=job.progress,
        resume="latest",
        **job.recipe,
    )
    try:
        result = train(config)
    except (TrainingDataError, TrainingConfigError) as exc:
        raise TrainingFailed(str(exc)) from exc
    return TrainingOutcome(
        checkpoint=Path(result.checkpoint),
        model_config=dict(result.model_config),
        step=int(result.step),
        final_loss=float(result.final_loss),
        test_accuracy=None if result.test_accuracy is None else float(result.test_accuracy),
        metrics_path=Path(result.metrics_path),
    )


def torchrun_command(job: TrainingJob, processes: int) -> list[str]:
    """`torchrun --nproc-per-node N -m training ... --resume latest` for the job."""
    launcher = [
        sys.executable, "-m", "torch.distributed.run", "--standalone",
        "--nproc-per-node", str(processes), "-m", "training",
    ]  # fmt: skip
    return launcher + cli_arguments(job)


def single_process_command(job: TrainingJob) -> list[str]:
    """`python -m training ... --resume latest` for the job."""
    return [sys.executable, "-m", "training", *cli_arguments(job)]


def cli_arguments(job: TrainingJob) -> list[str]:
    """The training CLI's flags for the job, always with --resume latest."""
    flags: dict[str, Any] = {
        "--train": job.train_json,
        "--test": job.test_json,
        "--model": job.model,
        "--out": job.out_dir,
        "--checkpoint": job.checkpoint,
        "--pretrained": job.pretrained,
        "--device": job.device,
        "--resume": "latest",
    }
    command: list[str] = []
    for flag, value in flags.items():
        if value is not None:
            command += [flag, str(value)]
    for recipe_field in RECIPE_FIELDS:
        command += recipe_flag(recipe_field, job.recipe[recipe_field.name])
    if not job.progress:
        command.append("--no-progress")
    return command


def recipe_flag(recipe_field: RecipeField, value: Any) -> list[str]:
    """A recipe field's flag with its value (one argument per element of a tuple)."""
    values = value if isinstance(value, list | tuple) else [value]
    return [recipe_field.flag, *(str(element) for element in values)]


def die_with_parent() -> None:
    """In the child before exec: SIGTERM when the worker that started it dies (even by
    SIGKILL), so torchrun stops its ranks rather than train on as an orphan."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")


def train_in_child(
    job: TrainingJob, command: list[str], log: Callable[[str], None] | None = None
) -> TrainingOutcome:
    """Run the training CLI (`command`) as a child process that dies with this one; its
    output goes to out_dir/training.log (its progress bar and errors to this process's
    stderr when job.progress), its last stdout line is the JSON summary."""
    job.out_dir.mkdir(parents=True, exist_ok=True)
    log_path = job.out_dir / "training.log"
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    with log_path.open("a", encoding="utf-8") as log_file:
        process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=None if job.progress else log_file,
            text=True,
            env=env,
            preexec_fn=die_with_parent,  # only prctl runs between fork and exec
        )
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            lines.append(line)
            log_file.write(line)
            if log is not None:
                log(line.rstrip("\n"))
        code = process.wait()
    if code != 0:
        if job.progress:
            raise TrainingFailed(f"training exited with status {code}; its error is above")
        tail = _tail(log_path, 20)
        raise TrainingFailed(f"training exited with status {code}; the end of {log_path}:\n{tail}")
    return outcome_from_summary(lines, job)


def outcome_from_summary(lines: Sequence[str], job: TrainingJob) -> TrainingOutcome:
    for line in reversed(lines):
        line = line.strip()
        if line.startswith("{"):
            try:
                summary = json.loads(line)
            except json.JSONDecodeError:
                continue
            return _outcome(summary, job)
    raise TrainingFailed("the training command printed no JSON summary line")


def _outcome(summary: Mapping[str, Any], job: TrainingJob) -> TrainingOutcome:
    checkpoint = Path(summary.get("checkpoint") or job.out_dir / "checkpoints" / "latest.pt")
    accuracy = summary.get("test_accuracy")
    model_config = summary.get("model_config")
    if not isinstance(model_config, dict):
        model_config = stored_model_config(checkpoint)
    return TrainingOutcome(
        checkpoint=checkpoint,
        model_config=model_config,
        step=int(summary.get("step") or 0),
        final_loss=float(summary.get("final_loss") or 0.0),
        test_accuracy=None if accuracy is None else float(accuracy),
        metrics_path=Path(summary.get("metrics") or job.out_dir / "metrics.jsonl"),
    )


def _tail(path: Path, count: int) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-count:])
    except OSError:
        return ""


def train(job: TrainingJob, processes: int) -> TrainingOutcome:
    """Train: under torchrun for several processes; for one with data loader processes,
    as a `python -m training` child; for one without, in this process.

    Data loader processes are forked: forked from a fresh process they inherit no other
    thread's locks, whereas this one has threads of its own (the lease's heartbeat, the
    database driver's, a Celery pool's), and a Celery pool process, being daemonic, may
    not start them at all.
    """
    if processes > 1:
        return train_in_child(job, torchrun_command(job, processes))
    if job.workers > 0:
        return train_in_child(job, single_process_command(job))
    return train_in_process(job)


def _checkpoint_entries(path: Path) -> dict[str, Any] | None:
    import torch

    if not path.is_file():
        return None
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # an unreadable checkpoint: the core reports it when it resumes
        return None
    return loaded if isinstance(loaded, dict) else None


def checkpoint_step(out_dir: Path) -> int | None:
    """The step of out_dir's latest checkpoint, or None when there is none yet."""
    entries = _checkpoint_entries(out_dir / "checkpoints" / "latest.pt")
    if entries is None or "step" not in entries:
        return None
    return int(entries["step"])


def stored_model_config(checkpoint: Path) -> dict[str, Any]:
    entries = _checkpoint_entries(checkpoint) or {}
    config = entries.get("model_config")
    return dict(config) if isinstance(config, dict) else {}


def evaluate(
    model: str,
    checkpoint: Path | None,
    test_json: Path,
    *,
    pretrained: str | None = None,
    device: str | None = None,
    batch_size: int = 64,
) -> float:
    """HPD v2 test ranking accuracy of the given weights (training.core)."""
    from training.core import TrainingConfigError, TrainingDataError, evaluate_ranking_accuracy

    try:
        return float(
            evaluate_ranking_accuracy(
                model, checkpoint, test_json,
                pretrained=pretrained, device=device, batch_size=batch_size,
            )
        )  # fmt: skip
    except (TrainingDataError, TrainingConfigError) as exc:
        raise TrainingFailed(str(exc)) from exc


def generator_accuracy(
    model: str,
    checkpoint: Path | None,
    test_json: Path,
    held_out: Collection[str],
    *,
    pretrained: str | None = None,
    device: str | None = None,
    batch_size: int = 64,
) -> dict[str, Any] | None:
    """The pairwise accuracy per generator, and on seen vs held-out generators, of the
    given weights (training.core.evaluation.generator_report, as JSON); None when the
    test images' generators are not known."""
    import torch

    from scoring.core import load_model
    from training.core import TrainingDataError
    from training.core.evaluation import generator_report

    chosen = device or ("cuda" if torch.cuda.is_available() else "cpu")
    hps = load_model(model, checkpoint, pretrained=pretrained, device=chosen)
    try:
        report = generator_report(hps, test_json, held_out, batch_size=batch_size)
    except TrainingDataError as exc:
        raise TrainingFailed(str(exc)) from exc
    if report is None:
        return None
    found = report.as_json()
    return {
        "held_out_generators": sorted(held_out),
        "by_generator": found["by_generator"],
        "by_exposure": found.get("by_exposure"),
    }


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The lines of a metrics.jsonl (a half-written last line is left out)."""
    rows: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return rows
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def last_logged_step(path: Path) -> int | None:
    """The step of the last complete line of a metrics.jsonl, reading only its tail."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(size - 4096, 0))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    for line in reversed(tail.splitlines()):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and isinstance(row.get("step"), int):
            return int(row["step"])
    return None
