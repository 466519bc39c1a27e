"""One process of a run: rank, world size and device, from torchrun's environment.

Under `torchrun --nproc-per-node N`, WORLD_SIZE, RANK and LOCAL_RANK are set and
torch.distributed.init_process_group (env://) joins the group: NCCL on CUDA, gloo on CPU.
A plain `python -m training` is one process with no group.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class TrainingProcess:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    owns_group: bool  # this process initialised the group and destroys it at the end

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def start_process(device: str | None) -> TrainingProcess:
    """Join torchrun's process group if there is one and pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        chosen = torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    else:
        chosen = torch.device(device)
        if chosen.type == "cuda" and chosen.index is None:
            chosen = torch.device(f"cuda:{local_rank}")
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    owns_group = False
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
        owns_group = True
    return TrainingProcess(rank, world_size, local_rank, chosen, owns_group)


def stop_process(process: TrainingProcess) -> None:
    if process.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def barrier(process: TrainingProcess) -> None:
    if process.distributed:
        dist.barrier()


def sum_over_processes(process: TrainingProcess, values: torch.Tensor) -> torch.Tensor:
    """Element-wise sum of `values` over every process (a copy; the input is unchanged)."""
    total = values.clone()
    if process.distributed:
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def gather_objects(process: TrainingProcess, value: Any) -> list[Any]:
    """Every process's `value`, in rank order."""
    if not process.distributed:
        return [value]
    gathered: list[Any] = [None] * process.world_size
    dist.all_gather_object(gathered, value)
    return gathered


def from_main(process: TrainingProcess, value: Any) -> Any:
    """Rank 0's `value` on every process."""
    if not process.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
