"""The loaded scorer of a worker or web process, cached per model version.

Loading ViT-H-14 costs seconds and gigabytes, so a process keeps the scorer of the
version it last used (keyed by version id) and replaces it when another is asked for.
"""

from __future__ import annotations

import threading

from django.conf import settings

from scoring.core import Scorer, load_model
from scoring.models import ModelVersion

_lock = threading.Lock()
_cached: dict[int, Scorer] = {}


def scoring_device() -> str:
    configured = str(getattr(settings, "SCORING_DEVICE", "") or "")
    if configured:
        return configured
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def scorer_for(version: ModelVersion) -> Scorer:
    """The process's Scorer for `version`, loading it on first use (raises ModelLoadError)."""
    with _lock:
        scorer = _cached.get(version.pk)
        if scorer is None:
            hps = load_model(
                version.architecture,
                version.checkpoint_path,
                device=scoring_device(),
                model_config=version.model_config,
            )
            scorer = Scorer(
                hps,
                batch_size=int(getattr(settings, "SCORING_BATCH_SIZE", 64)),
                precision=str(getattr(settings, "SCORING_PRECISION", "fp16")),
                antialias=bool(getattr(settings, "SCORING_ANTIALIAS", False)),
            )
            _cached.clear()  # one model per process: the previous one's memory is freed
            _cached[version.pk] = scorer
        return scorer


def forget_loaded_models() -> None:
    with _lock:
        _cached.clear()


def loaded_model_versions() -> list[int]:
    """The ids of the versions whose model this process holds (none in a web process)."""
    with _lock:
        return sorted(_cached)
