import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from annotation.models import Split
from annotation.services.importing import import_batch
from annotation.services.media import StorageUnavailable
from annotation.services.problems import BatchRejected
from annotation.services.progress import Progress


class TqdmProgress(Progress):
    """A progress bar on stderr, shown only on a terminal."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def start(self, stage: str, total: int) -> None:
        self.close()
        self.bar = tqdm(total=total, desc=stage, unit="img", disable=not sys.stderr.isatty())

    def advance(self, count: int = 1) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Command(BaseCommand):
    help = (
        "Import a prompt/image batch (.zip or folder with manifest.jsonl). Prints a JSON "
        "summary as the last line; on any problem prints them all and imports nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--project", required=True, help="Project slug (created if new).")
        parser.add_argument("--split", default=Split.TRAIN, choices=Split.values)
        parser.add_argument("--judgments-per-task", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        progress = TqdmProgress()
        try:
            summary = import_batch(
                options["path"],
                options["project"],
                split=options["split"],
                judgments_per_task=options["judgments_per_task"],
                progress=progress,
            )
        except BatchRejected as rejected:
            progress.close()
            for problem in rejected.problems:
                self.stderr.write(f"  {problem}")
            raise CommandError(
                f"{len(rejected.problems)} problem(s) in {options['path']}; nothing was "
                "imported. Fix them all and run the import again."
            ) from None
        except StorageUnavailable as exc:
            progress.close()
            raise CommandError(f"{exc}. Nothing was imported.") from None
        progress.close()
        self.stdout.write(json.dumps(summary.as_dict()))
