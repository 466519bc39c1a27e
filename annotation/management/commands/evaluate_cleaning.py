import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotation.intake import (
    LabelsInvalid,
    evaluate_cleaning,
    evaluation_table,
    load_labelled_prompts,
)

DEFAULT_LABELS = Path(settings.BASE_DIR) / "tests" / "data" / "labelled_prompts.jsonl"


class Command(BaseCommand):
    help = (
        "Measure the prompt cleaner (precision and recall on removed words, subject words "
        "kept) and the style classifier (accuracy, confusion matrix) against prompts "
        "labelled by reading them, with bootstrap 95%% intervals over prompts. --labels "
        "FILE.jsonl (default tests/data/labelled_prompts.jsonl); --json for JSON; --misses N "
        "lists up to N labelled phrases the cleaner left in."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--labels", type=Path, default=DEFAULT_LABELS)
        parser.add_argument("--samples", type=int, default=2000, help="Bootstrap resamplings.")
        parser.add_argument("--json", action="store_true", help="Write the figures as JSON.")
        parser.add_argument("--misses", type=int, default=0, help="List up to N misses.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["samples"] < 100:
            raise CommandError("--samples must be at least 100 for a 95% interval")
        try:
            items = load_labelled_prompts(options["labels"])
        except LabelsInvalid as exc:
            raise CommandError(str(exc)) from None
        result = evaluate_cleaning(items, samples=options["samples"])
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2))
        else:
            self.stdout.write(evaluation_table(result))
        for miss in result.missed[: options["misses"]]:
            self.stdout.write(f"left in: {miss.text!r}  <- {miss.prompt}")
        for miss in result.wrongly_removed[: options["misses"]]:
            self.stdout.write(f"subject word removed: {miss.text!r}  <- {miss.prompt}")
