"""Which weights a cycle starts from and compares with: the active model version, or the
base weights named by the TRAINING_BASE_* settings."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from scoring.models import ModelVersion


class WeightsNotConfigured(ValueError):
    """No weights to start from; the message says which setting to give."""


@dataclass(frozen=True)
class Weights:
    """Weights as the training core takes them. `model` is an open_clip architecture
    name or a model-config JSON path; `architecture` and `model_config` are what the
    registry records for a version trained from them."""

    label: str
    model: str
    checkpoint: Path | None
    pretrained: str | None
    architecture: str
    model_config: dict[str, Any] | None

    def as_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "model": self.model,
            "checkpoint": str(self.checkpoint) if self.checkpoint else None,
            "pretrained": self.pretrained,
            "architecture": self.architecture,
            "model_config": self.model_config,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Weights:
        return cls(
            label=data["label"],
            model=data["model"],
            checkpoint=Path(data["checkpoint"]) if data.get("checkpoint") else None,
            pretrained=data.get("pretrained"),
            architecture=data["architecture"],
            model_config=data.get("model_config"),
        )


def _is_config_path(model: str) -> bool:
    return model.endswith(".json") or os.sep in model


def base_configured() -> bool:
    return bool(settings.TRAINING_BASE_CHECKPOINT or settings.TRAINING_BASE_PRETRAINED)


def base_weights() -> Weights:
    """The base weights of the settings; WeightsNotConfigured when neither a checkpoint
    nor a pretrained tag is given, or a file named there is missing."""
    model = str(settings.TRAINING_BASE_MODEL).strip()
    checkpoint = str(settings.TRAINING_BASE_CHECKPOINT).strip()
    pretrained = str(settings.TRAINING_BASE_PRETRAINED).strip()
    if not model:
        raise WeightsNotConfigured(
            "TRAINING_BASE_MODEL is empty; set it to an open_clip architecture (ViT-H-14 for "
            "HPS v2) or the path of a model-config JSON file"
        )
    if not checkpoint and not pretrained:
        raise WeightsNotConfigured(
            "no base weights are configured and no model version is active: set "
            "TRAINING_BASE_CHECKPOINT to a checkpoint file (e.g. HPS_v2_compressed.pt) or "
            "TRAINING_BASE_PRETRAINED to an open_clip pretrained tag in the local cache, or "
            "activate a model version in /manage/models/"
        )
    if checkpoint and not Path(checkpoint).is_file():
        raise WeightsNotConfigured(
            f"TRAINING_BASE_CHECKPOINT={checkpoint}: file not found; copy the checkpoint "
            "there or correct the setting"
        )
    model_config: dict[str, Any] | None = None
    architecture = model
    if _is_config_path(model):
        path = Path(model)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise WeightsNotConfigured(
                f"TRAINING_BASE_MODEL={model}: not a readable model-config JSON file ({exc})"
            ) from exc
        model_config = loaded.get("model_cfg", loaded) if isinstance(loaded, dict) else None
        architecture = path.stem
    return Weights(
        label="base",
        model=model,
        checkpoint=Path(checkpoint) if checkpoint else None,
        pretrained=pretrained or None,
        architecture=architecture,
        model_config=model_config,
    )


def version_weights(version: ModelVersion, config_folder: Path) -> Weights:
    """A registered version's weights; a version with its own model config gets it
    written as JSON into `config_folder` (the core takes a file path)."""
    model = version.architecture
    if version.model_config:
        config_folder.mkdir(parents=True, exist_ok=True)
        path = config_folder / f"model-version-{version.pk}.json"
        path.write_text(json.dumps(version.model_config, sort_keys=True), encoding="utf-8")
        model = str(path)
    return Weights(
        label=version.name,
        model=model,
        checkpoint=Path(version.checkpoint_path),
        pretrained=None,
        architecture=version.architecture,
        model_config=dict(version.model_config) if version.model_config else None,
    )
