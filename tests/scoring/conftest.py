"""Registered tiny model versions and imported batches for the scoring tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scoring import services
from scoring.models import ModelVersion
from scoring.runtime import forget_loaded_models
from tests.scoring.helpers import TINY_CONFIG, write_tiny_model


@pytest.fixture(autouse=True)
def fresh_model_cache() -> Iterator[None]:
    forget_loaded_models()
    yield
    forget_loaded_models()


@pytest.fixture
def register_tiny(tmp_path: Path, db: None) -> Callable[..., ModelVersion]:
    """register_tiny(name, seed) registers a tiny CLIP checkpoint as a candidate."""

    def register(name: str = "tiny-1", seed: int = 0) -> ModelVersion:
        _, checkpoint = write_tiny_model(tmp_path / f"models-{name}", seed=seed)
        return services.register_model_version(
            name,
            "tiny-clip",
            checkpoint,
            source="random weights for tests",
            metrics={"hpd_test": 0.5},
            model_config=TINY_CONFIG,
        )

    return register
