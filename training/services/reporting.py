"""What a running cycle tells whoever watches it (a CLI draws it; a worker stays quiet)."""

from __future__ import annotations

from core.progress import Progress


class CycleReporter:
    """Receives the cycle's stages; `export` receives the export's progress and
    `training_bar` asks the training core for its own tqdm bar. Default: silent."""

    training_bar = False

    def __init__(self) -> None:
        self.export: Progress = Progress()

    def stage(self, text: str) -> None:
        pass
