"""What an import reports back: the batch it made and what it holds."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass
class ImportSummary:
    batch: int
    project: str
    created_project: bool
    task_type: str
    split: str
    judgments_per_task: int
    prompts: int
    images: int
    tasks: int
    seconds: float
    # The most judgments a task of the batch collects (adaptive redundancy); equal to
    # judgments_per_task when fixed.
    max_judgments_per_task: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
