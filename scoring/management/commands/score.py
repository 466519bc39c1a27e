"""`manage.py score`: the same as `python -m scoring` (see scoring/cli.py)."""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError

from scoring.cli import ScoreCommandError, add_score_arguments, run_score


class Command(BaseCommand):
    help = "Score images for a prompt with an HPS model; prints a JSON list of scores."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_score_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # The raw stream: tqdm's carriage returns must not get Django's line endings.
            scores = run_score(Namespace(**options), cast(TextIO, self.stderr._out))
        except ScoreCommandError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(scores))
