"""`manage.py evaluate`: `python -m scoring evaluate` (scoring/evaluate_cli.py) with
`--model-version NAME` for a registered version instead of --checkpoint/--model."""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError

from scoring.benchmark_cli import BenchmarkCommandError, ModelSpec
from scoring.evaluate_cli import add_evaluate_arguments, run_evaluate_command
from scoring.services import ScoringError, model_version_named


class Command(BaseCommand):
    help = "Accuracy of an HPS model on HPD v2 test data; the last line is JSON."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_evaluate_arguments(parser, registry=True)
        parser.add_argument(
            "--model-version", default=None, help="a registered model version's name"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        namespace = Namespace(**options)
        try:
            if bool(namespace.model_version) == bool(namespace.checkpoint):
                raise BenchmarkCommandError("give either --model-version or --checkpoint")
            if namespace.model_version:
                version = model_version_named(namespace.model_version)
                model = ModelSpec(
                    version.name,
                    version.architecture,
                    version.checkpoint_path,
                    version.model_config,
                )
            else:
                model = ModelSpec(
                    Path(namespace.checkpoint).name, namespace.model, namespace.checkpoint
                )
            result = run_evaluate_command(
                namespace, model, cast(TextIO, self.stdout._out), cast(TextIO, self.stderr._out)
            )
        except (BenchmarkCommandError, ScoringError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result))
