"""train(config): the HPS v2 fine-tuning loop, alone or as one process under torchrun.

Each optimizer step consumes global_batch pairs: batch_size pairs per process per
micro-step, accumulated over global_batch / (batch_size * world_size) micro-steps (DDP
synchronises gradients on the last one only). The objective is the release's: the sum of
the per-pair losses of a micro-batch, averaged over micro-steps and processes.
Rank 0 evaluates (ranking accuracy on test.json), writes metrics.jsonl and checkpoints;
the other processes wait for it at a barrier.
"""

from __future__ import annotations

import math
import os
import random
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from scoring.core import HpsModel, load_model
from scoring.core.loading import read_config_file
from training.core import distributed
from training.core.checkpoint import (
    CHECKPOINT_FORMAT,
    capture_rng,
    cpu_state_dict,
    read_checkpoint,
    restore_rng,
    save_atomically,
)
from training.core.config import RUN_DEFINING, TrainConfig, TrainResult, recipe_default
from training.core.data import (
    PairDataset,
    PairOrderSampler,
    PreferencePair,
    RankedGroup,
    TrainData,
    epoch_position,
    hold_out_generators,
    read_image_generators,
    read_test_groups,
    read_train_data,
)
from training.core.distributed import TrainingProcess
from training.core.errors import TrainingConfigError, TrainingDataError
from training.core.evaluation import ranking_accuracy_of
from training.core.loss import forward_pair_losses
from training.core.recipe import (
    autocast,
    build_optimizer,
    clamp_logit_scale,
    learning_rate,
    lock_recipe_layers,
    set_learning_rate,
)
from training.core.reporting import RunReport


@dataclass(frozen=True)
class RunPaths:
    out_dir: Path

    @property
    def latest(self) -> Path:
        return self.out_dir / "checkpoints" / "latest.pt"

    @property
    def metrics(self) -> Path:
        return self.out_dir / "metrics.jsonl"

    @property
    def tensorboard(self) -> Path:
        return self.out_dir / "tensorboard"


def model_config_of(model: str) -> tuple[dict[str, Any], str | None]:
    """The open_clip config of an architecture name or model-config JSON, and the name
    (None for a JSON file)."""
    if model.endswith(".json") or os.sep in model:
        return read_config_file(Path(model)), None
    config = open_clip.get_model_config(model)
    if config is None:
        raise TrainingConfigError(f"unknown architecture {model!r}")
    return dict(config), model


def _result(paths: RunPaths, state: dict[str, Any]) -> TrainResult:
    position = state["data_position"]
    return TrainResult(
        out_dir=paths.out_dir,
        checkpoint=paths.latest,
        model_config=dict(state["model_config"]),
        step=int(state["step"]),
        final_loss=float(state["last_loss"]),
        test_accuracy=state["test_accuracy"],
        metrics_path=paths.metrics,
        train_pairs=int(position["num_pairs"]),
        ties_skipped=int(position.get("ties_skipped", 0)),
        held_out_pairs=int(position.get("held_out_pairs", 0)),
    )


def _resume_source(config: TrainConfig, paths: RunPaths) -> Path | None:
    if config.resume is None:
        return None
    if config.resume == "latest":
        return paths.latest if paths.latest.is_file() else None
    path = Path(config.resume)
    if not path.is_file():
        raise TrainingConfigError(
            f"{path}: resume checkpoint not found; give 'latest' or an existing checkpoint"
        )
    return path


def _check_same_run(
    config: TrainConfig, state: dict[str, Any], num_pairs: int, source: Path
) -> int | None:
    """Refuse a checkpoint of a different run; return the total steps it was trained
    for when this run extends it (a larger `steps`, every other setting the same)."""
    stored = state["train_config"]
    current = config.to_json()
    extends = isinstance(stored.get("steps"), int) and stored["steps"] < current["steps"]
    differences = [
        f"{key}={stored.get(key, recipe_default(key))!r} there, {current[key]!r} here"
        for key in RUN_DEFINING  # the settings a resumed run must share with its checkpoint
        # a field missing from an older checkpoint had its default
        if stored.get(key, recipe_default(key)) != current[key] and not (key == "steps" and extends)
    ]
    if state["data_position"]["num_pairs"] != num_pairs:
        differences.append(
            f"{state['data_position']['num_pairs']} training pairs there, {num_pairs} here"
        )
    if differences:
        raise TrainingConfigError(
            f"{source}: cannot resume a different run ({'; '.join(differences)}); use the "
            "same settings and train.json, or start in a new out dir"
        )
    return int(stored["steps"]) if extends else None


def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def train(config: TrainConfig) -> TrainResult:
    """Fine-tune with the HPS v2 recipe; see TrainConfig. Safe to call again with
    resume="latest" after a kill: it ends with the weights of an uninterrupted run. On an
    out_dir whose run already reached `steps`, returns that result without training.
    Resumed with a larger `steps` (every other run-defining setting the same), a
    finished or killed run is extended from its last checkpoint: the learning-rate
    schedule of the remaining steps is the one of the new total, and metrics.jsonl
    records the extension at the checkpoint's step (README.md#fine-tuning-the-scorer).

    Raises TrainingDataError (bad data, naming the file), TrainingConfigError (settings),
    scoring.errors.ModelLoadError (model or weights)."""
    config.validate()
    paths = RunPaths(config.out_dir)
    if paths.latest.is_file():
        existing = read_checkpoint(paths.latest)
        if int(existing["step"]) >= config.steps:
            return _result(paths, existing)
        if config.resume is None:
            raise TrainingConfigError(
                f"{config.out_dir}: already holds a run stopped at step {existing['step']} "
                f"of {config.steps}; continue it with resume='latest' (--resume latest) or "
                "choose a new out dir"
            )
    process = distributed.start_process(config.device)
    try:
        return _train(config, process, paths)
    finally:
        distributed.stop_process(process)


def _start_model(config: TrainConfig, device: torch.device, resume_from: Path | None) -> HpsModel:
    if resume_from is not None:  # a training checkpoint holds the weights in `state_dict`
        return load_model(config.model, resume_from, device=device)
    return load_model(
        config.model,
        config.checkpoint,
        pretrained=config.pretrained,
        random_weights=config.checkpoint is None and config.pretrained is None,
        device=device,
    )


def _train(config: TrainConfig, process: TrainingProcess, paths: RunPaths) -> TrainResult:
    device = process.device
    accumulation = config.accumulation_steps(process.world_size)
    data, held_out = training_pairs(config)
    pairs = data.pairs
    if process.is_main and config.progress:
        print(
            f"{config.train_json}: {len(pairs) + held_out} pair(s) read, {data.ties_skipped} "
            f"tied pair(s) skipped, {held_out} held out ({config.hold_out_generators or 'none'})",
            file=sys.stderr,
        )
    if len(pairs) < config.global_batch:
        raise TrainingDataError(
            f"{config.train_json}: has {len(pairs)} pair(s), fewer than one global batch "
            f"of {config.global_batch}; lower --global-batch or add pairs"
        )
    test_groups = read_test_groups(config.test_json) if config.test_json else None
    model_config, architecture = model_config_of(config.model)
    resume_from = _resume_source(config, paths)
    state = read_checkpoint(resume_from) if resume_from is not None else None
    extended_from: int | None = None
    if state is not None and resume_from is not None:
        extended_from = _check_same_run(config, state, len(pairs), resume_from)

    _seed_everything(config.seed)  # the same random initialisation on every process
    hps = _start_model(config, device, resume_from)
    network = hps.model
    lock_recipe_layers(network, config.unlocked_image_groups, config.unlocked_text_layers)
    network.train()
    optimizer = build_optimizer(network, config)
    start_step, last_loss, test_accuracy = 0, math.nan, None
    if state is not None:
        optimizer.load_state_dict(state["optimizer"])
        start_step = int(state["step"])
        last_loss, test_accuracy = float(state["last_loss"]), state["test_accuracy"]
        rng_states = state["rng"]
        restore_rng(rng_states[process.rank] if process.rank < len(rng_states) else rng_states[0])
    else:
        _seed_everything(config.seed + process.rank)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    trained: torch.nn.Module = (
        DistributedDataParallel(network, device_ids=[device] if device.type == "cuda" else None)
        if process.distributed
        else network
    )
    run = _Run(
        config,
        process,
        paths,
        hps,
        trained,
        optimizer,
        pairs,
        test_groups,
        model_config,
        architecture,
        accumulation,
        data.ties_skipped,
        held_out,
    )
    report = RunReport(
        paths.metrics,
        enabled=process.is_main,
        progress=config.progress,
        total_steps=config.steps,
        start_step=start_step,
        tensorboard_dir=paths.tensorboard,
    )
    with report:
        if extended_from is not None:
            report.note(
                {
                    "step": start_step,
                    "event": "extended",
                    "from_total_steps": extended_from,
                    "total_steps": config.steps,
                }
            )
        last_loss, test_accuracy = run.steps_from(start_step, report, last_loss, test_accuracy)
    return TrainResult(
        out_dir=paths.out_dir,
        checkpoint=paths.latest,
        model_config=model_config,
        step=config.steps,
        final_loss=last_loss,
        test_accuracy=test_accuracy,
        metrics_path=paths.metrics,
        train_pairs=len(pairs),
        ties_skipped=data.ties_skipped,
        held_out_pairs=held_out,
    )


def training_pairs(config: TrainConfig) -> tuple[TrainData, int]:
    """The train.json pairs a run trains on (every pair involving a held-out generator
    left out, read_image_generators) and how many were held out."""
    data = read_train_data(config.train_json)
    names = config.held_out()
    if not names:
        return data, 0
    kept = hold_out_generators(data.pairs, read_image_generators(config.train_json), names)
    return TrainData(kept.pairs, data.ties_skipped), kept.held_out


class _Run:
    """The state one process carries through the optimizer steps."""

    def __init__(
        self,
        config: TrainConfig,
        process: TrainingProcess,
        paths: RunPaths,
        hps: HpsModel,
        trained: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        pairs: list[PreferencePair],
        test_groups: list[RankedGroup] | None,
        model_config: dict[str, Any],
        architecture: str | None,
        accumulation: int,
        ties_skipped: int,
        held_out_pairs: int = 0,
    ) -> None:
        self.config = config
        self.process = process
        self.paths = paths
        self.hps = hps
        self.network = hps.model
        self.trained = trained
        self.optimizer = optimizer
        self.pairs = pairs
        self.test_groups = test_groups
        self.model_config = model_config
        self.architecture = architecture
        self.accumulation = accumulation
        self.ties_skipped = ties_skipped
        self.held_out_pairs = held_out_pairs
        self.dataset = PairDataset(pairs, hps.image_size, hps.mean, hps.std, config.train_json)

    def _batches(self, start_step: int) -> DataLoader[Any]:
        sampler = PairOrderSampler(
            len(self.pairs),
            self.config.global_batch,
            seed=self.config.seed,
            start_step=start_step,
            stop_step=self.config.steps,
            rank=self.process.rank,
            world_size=self.process.world_size,
        )
        return DataLoader(
            self.dataset,
            batch_size=self.config.batch_size,
            sampler=sampler,
            num_workers=self.config.workers,
            multiprocessing_context="spawn" if self.config.workers > 0 else None,
            pin_memory=self.process.device.type == "cuda",
            drop_last=True,
        )

    def steps_from(
        self, step: int, report: RunReport, last_loss: float, test_accuracy: float | None
    ) -> tuple[float, float | None]:
        batches = iter(self._batches(step))
        while step < self.config.steps:
            started = time.perf_counter()
            last_loss, lr = self._optimizer_step(step, batches)
            step += 1
            record: dict[str, Any] = {
                "step": step,
                "loss": last_loss,
                "lr": lr,
                "pairs_per_s": self.config.global_batch / (time.perf_counter() - started),
            }
            if self._evaluation_due(step):
                test_accuracy = self._evaluate()
                record["test_accuracy"] = test_accuracy
            report.record(record)
            if step % self.config.checkpoint_every == 0 or step == self.config.steps:
                self._save(step, last_loss, test_accuracy)
        del batches  # stops the workers
        return last_loss, test_accuracy

    def _optimizer_step(self, step: int, batches: Any) -> tuple[float, float]:
        config, device = self.config, self.process.device
        lr = learning_rate(step, config.lr, config.warmup_steps, config.steps)
        set_learning_rate(self.optimizer, lr)
        self.optimizer.zero_grad(set_to_none=True)
        totals = torch.zeros(2, dtype=torch.float64)  # (sum of pair losses, pairs)
        for micro_step in range(self.accumulation):
            pixels, prompts, preference = next(batches)  # (B, 2, 3, S, S), B, (B, 2)
            last = micro_step == self.accumulation - 1
            no_sync: Any = getattr(self.trained, "no_sync", None)
            sync = no_sync() if no_sync is not None and not last else nullcontext()
            with sync:
                losses = self._pair_losses(
                    pixels.to(device, non_blocking=True),
                    self.hps.tokenizer(list(prompts)).to(device),
                    preference.to(device, non_blocking=True),
                )  # (B,)
                (losses.sum() / self.accumulation).backward()  # type: ignore[no-untyped-call]
            totals += torch.tensor(
                [float(losses.detach().sum()), float(losses.numel())], dtype=torch.float64
            )
        self.optimizer.step()
        clamp_logit_scale(self.network)
        overall = distributed.sum_over_processes(self.process, totals)
        return float(overall[0] / overall[1]), lr

    def _pair_losses(
        self, pixels: torch.Tensor, tokens: torch.Tensor, preference: torch.Tensor
    ) -> torch.Tensor:
        with autocast(self.config.precision, self.process.device):
            return forward_pair_losses(self.trained, pixels, tokens, preference)  # (B,)

    def _evaluation_due(self, step: int) -> bool:
        if self.test_groups is None:
            return False
        every = self.config.eval_every
        return step == self.config.steps or (every > 0 and step % every == 0)

    def _evaluate(self) -> float:
        accuracy: float | None = None
        if self.process.is_main and self.test_groups is not None and self.config.test_json:
            self.network.eval()
            try:
                accuracy = ranking_accuracy_of(self.hps, self.test_groups, self.config.test_json)
            finally:
                self.network.train()
        shared: float = distributed.from_main(self.process, accuracy)
        return shared

    def _save(self, step: int, last_loss: float, test_accuracy: float | None) -> None:
        rng_states = distributed.gather_objects(self.process, capture_rng())
        if self.process.is_main:
            epoch, in_epoch = epoch_position(step, len(self.pairs), self.config.global_batch)
            save_atomically(
                {
                    "format": CHECKPOINT_FORMAT,
                    "state_dict": cpu_state_dict(self.network),
                    "model_config": self.model_config,
                    "architecture": self.architecture,
                    "step": step,
                    "optimizer": self.optimizer.state_dict(),
                    "schedule": {
                        "next_step": step,
                        "base_lr": self.config.lr,
                        "warmup_steps": self.config.warmup_steps,
                        "total_steps": self.config.steps,
                    },
                    "rng": rng_states,
                    "data_position": {
                        "epoch": epoch,
                        "step_in_epoch": in_epoch,
                        "pairs_consumed": step * self.config.global_batch,
                        "num_pairs": len(self.pairs),
                        "ties_skipped": self.ties_skipped,
                        "held_out_pairs": self.held_out_pairs,
                        "seed": self.config.seed,
                    },
                    "train_config": self.config.to_json(),
                    "world_size": self.process.world_size,
                    "last_loss": last_loss,
                    "test_accuracy": test_accuracy,
                },
                self.paths.latest,
            )
        distributed.barrier(self.process)
