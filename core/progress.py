"""Progress of long work, reported to whoever shows it (a CLI bar, a task status)."""


class Progress:
    """Receives progress of long imports; the CLI shows it as a bar. Default: silent."""

    def start(self, stage: str, total: int) -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass
