"""`manage.py evaluate`: `python -m scoring evaluate` (scoring/evaluate_cli.py) with
`--model-version NAME` for a registered version instead of --checkpoint/--model.

`--project SLUG [--model-version NAME]` evaluates the version (default: the active one)
on the project's own test split from its stored scores (scoring/project_evaluation.py):
the same table and JSON last line, plus "project" and "unscored_groups"."""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError

from scoring.benchmark_cli import BenchmarkCommandError, ModelSpec
from scoring.evaluate_cli import add_evaluate_arguments, print_report, run_evaluate_command
from scoring.project_evaluation import evaluate_project
from scoring.services import ScoringError, model_version_named


class Command(BaseCommand):
    help = "Accuracy of an HPS model on HPD v2 test data; the last line is JSON."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_evaluate_arguments(parser, registry=True)
        parser.add_argument(
            "--model-version", default=None, help="a registered model version's name"
        )
        parser.add_argument(
            "--project",
            default=None,
            metavar="SLUG",
            help="evaluate on this project's test split, from the version's stored scores "
            "(default version: the active one)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        namespace = Namespace(**options)
        if namespace.project:
            self.handle_project(namespace)
            return
        try:
            if not namespace.test:
                raise BenchmarkCommandError("give --test TEST_JSON or --project SLUG")
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

    def handle_project(self, namespace: Namespace) -> None:
        try:
            if namespace.checkpoint or namespace.test:
                raise BenchmarkCommandError(
                    "--project evaluates the stored scores of a registered version: give "
                    "--model-version NAME (default: the active one), not --checkpoint or --test"
                )
            if namespace.bootstrap < 1:
                raise BenchmarkCommandError(
                    f"--bootstrap must be at least 1, got {namespace.bootstrap}"
                )
            version = model_version_named(namespace.model_version)
            result = evaluate_project(
                namespace.project, version, resamples=namespace.bootstrap, seed=namespace.seed
            )
        except (BenchmarkCommandError, ScoringError) as exc:
            raise CommandError(str(exc)) from exc
        stdout = cast(TextIO, self.stdout._out)
        print_report(result, stdout)
        if result["unscored_groups"]:
            print(
                f"  {result['unscored_groups']} judged test group(s) left out: an image has no "
                f"score from {version.name}",
                file=stdout,
            )
        self.stdout.write(json.dumps(result))
