"""The training core's errors; each message says what was wrong and how to fix it."""

from __future__ import annotations

_WORKER_PREFIX = "Caught TrainingDataError"


class TrainingDataError(ValueError):
    """Bad train/test JSON or a broken image; the message names the file.

    Raised in a DataLoader worker, torch re-raises it in the main process with the whole
    worker traceback as the message; the constructor keeps only the original one line.
    """

    def __init__(self, message: str) -> None:
        if message.startswith(_WORKER_PREFIX):
            marker = f"{type(self).__module__}.{type(self).__qualname__}: "
            lines = [line for line in message.splitlines() if line.startswith(marker)]
            if lines:
                message = lines[-1][len(marker) :]
        super().__init__(message)


class TrainingConfigError(ValueError):
    """A TrainConfig that cannot run (inconsistent batch sizes, no weights, ...)."""
