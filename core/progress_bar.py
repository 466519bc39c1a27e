"""A Progress that draws a tqdm bar on stderr, for the management commands."""

from __future__ import annotations

import sys

from tqdm import tqdm

from core.progress import Progress


class TqdmProgress(Progress):
    """A progress bar on stderr, shown only on a terminal; `unit` names what is counted."""

    def __init__(self, unit: str) -> None:
        self.unit = unit
        self.bar: tqdm | None = None

    def start(self, stage: str, total: int) -> None:
        self.close()
        self.bar = tqdm(total=total, desc=stage, unit=self.unit, disable=not sys.stderr.isatty())

    def advance(self, count: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
