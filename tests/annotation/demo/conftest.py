"""The demo writes its model beside the training runs: each test gets its own folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def training_folders(tmp_path: Path, settings: Any) -> Path:
    settings.TRAINING_ROOT = tmp_path / "training"
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.TRAINING_ROOT
