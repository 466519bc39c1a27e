import json
from argparse import ArgumentParser, BooleanOptionalAction
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.intake import BatchRejected, StorageUnavailable, import_batch
from annotation.judging import judging_option_problems, set_judging_options
from annotation.models import Project, ServingOrder, Split
from core.progress_bar import TqdmProgress


class Command(BaseCommand):
    help = (
        "Import a prompt/image batch (.zip or folder with manifest.jsonl). Prints a JSON "
        "summary as the last line; on any problem prints them all and imports nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--project", required=True, help="Project slug (created if new).")
        parser.add_argument("--split", default=Split.TRAIN, choices=Split.values)
        parser.add_argument(
            "--judgments-per-task",
            type=int,
            default=None,
            help="Judgments each task collects at least (default: the project's).",
        )
        parser.add_argument(
            "--max-judgments-per-task",
            type=int,
            default=None,
            help="Judgments each task collects at most: between the two, a task goes on "
            "only while its judgments are not confidently agreed (default: the project's "
            "maximum, or the minimum: a fixed number).",
        )
        parser.add_argument(
            "--allow-ties",
            action=BooleanOptionalAction,
            default=None,
            help="Let annotators judge images about the same (--no-allow-ties: not; "
            "default: the project keeps its setting, off for a new project).",
        )
        parser.add_argument(
            "--reason-chips",
            default=None,
            help="Comma-separated quick reasons annotators may tick, e.g. "
            "'text mismatch,artifacts,aesthetics,unsafe' ('' for none; default: the "
            "project keeps its chips).",
        )

        parser.add_argument(
            "--serving-order",
            choices=ServingOrder.values,
            default=None,
            help="Set the project's serving order: fifo (upload order), random, or "
            "uncertain-first (the tasks the active scorer is least sure about first; "
            "default: keep the project's, fifo for a new one).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        judging: dict[str, Any] = {
            name: value
            for name, value in (
                ("allow_ties", options["allow_ties"]),
                ("reason_chips", _chips(options["reason_chips"])),
            )
            if value is not None
        }
        problems = judging_option_problems(**judging)
        if problems:
            for where, message in problems:
                self.stderr.write(f"  --{where.replace('_', '-')}: {message}")
            raise CommandError(f"{len(problems)} problem(s) in the options; nothing was imported.")
        progress = TqdmProgress("img")
        try:
            summary = import_batch(
                options["path"],
                options["project"],
                split=options["split"],
                judgments_per_task=options["judgments_per_task"],
                max_judgments_per_task=options["max_judgments_per_task"],
                serving_order=options["serving_order"],
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
        if judging:
            set_judging_options(Project.objects.get(slug=options["project"]), **judging)
        self.stdout.write(json.dumps(summary.as_dict()))


def _chips(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [chip.strip() for chip in text.split(",") if chip.strip()]
