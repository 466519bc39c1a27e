"""Training checkpoints: written atomically, holding everything an exact resume needs.

`checkpoints/latest.pt` is a dict in the official HPS format (`state_dict`: the model's
weights, no "module." prefix) plus `model_config`, `architecture`, `step`, `optimizer`,
`schedule`, `rng` (one entry per process), `data_position`, `train_config`, `last_loss`
and `test_accuracy`. Only plain containers and tensors are stored, so it loads with
`torch.load(..., weights_only=True)`, as scoring.core.load_model and the release do.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from training.core.errors import TrainingConfigError

CHECKPOINT_FORMAT = "hpd-training/1"


def capture_rng() -> dict[str, Any]:
    """This process's RNG states (torch CPU and every CUDA device, numpy, python) as
    plain lists and numbers, so they travel between processes and load with
    weights_only=True."""
    kind, keys, position, has_gauss, cached = np.random.get_state(legacy=True)
    version, internal, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state().tolist(),
        "cuda": [state.tolist() for state in torch.cuda.get_rng_state_all()]
        if torch.cuda.is_available()
        else [],
        "numpy": [
            str(kind),
            np.asarray(keys).tolist(),
            int(position),
            int(has_gauss),
            float(cached),
        ],
        "python": [int(version), list(internal), gauss],
    }


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def cpu_state_dict(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}


def save_atomically(payload: dict[str, Any], path: Path) -> None:
    """torch.save to a temporary file beside `path`, then os.replace: a kill at any
    moment leaves either the previous checkpoint or the new one, never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as handle:
            torch.save(payload, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def read_checkpoint(path: Path) -> dict[str, Any]:
    """A training checkpoint's contents (tensors memory-mapped, on the CPU)."""
    loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    if not isinstance(loaded, dict) or loaded.get("format") != CHECKPOINT_FORMAT:
        raise TrainingConfigError(
            f"{path}: is not a training checkpoint of this library (no resume state); "
            "to start from its weights pass it as the start checkpoint instead"
        )
    return loaded
