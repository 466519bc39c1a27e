"""The scorer's errors, importable without torch (the web process and queries use them)."""

from __future__ import annotations


class ModelLoadError(ValueError):
    """The model or its weights cannot be loaded; the message says why and what to do."""


class BrokenImageError(ValueError):
    """An image could not be decoded; the message names the file and the reason."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(
            f"{name}: cannot be decoded ({reason}); fix or remove the file, "
            "or skip broken images (--skip-broken, skip_broken=True) to score the others"
        )
        self.name = name
        self.reason = reason
