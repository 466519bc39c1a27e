"""`manage.py benchmark`: `python -m scoring benchmark` (scoring/benchmark_cli.py) with
`--model-version NAME` for a registered version (and `--compare-model-version NAME`).

With --model-version the result is stored (scoring/benchmarks.py) and a later run with
the same generator, version, images, precision and antialias reuses it, saying so on
stdout; --force scores again. The JSON then carries "stored_result" and "reused"."""

from __future__ import annotations

import json
from argparse import ArgumentParser, Namespace
from pathlib import Path
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError

from scoring.benchmark_cli import (
    BenchmarkCommandError,
    ModelSpec,
    add_benchmark_arguments,
    model_from_options,
    run_benchmark_command,
)
from scoring.benchmarks import run_version_benchmark, version_spec
from scoring.services import ScoringError, model_version_named


class Command(BaseCommand):
    help = "Run the HPS v2 benchmark on local files; the last line is JSON."

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_benchmark_arguments(parser, registry=True)
        parser.add_argument(
            "--model-version", default=None, help="a registered model version's name"
        )
        parser.add_argument(
            "--compare-model-version",
            default=None,
            help="a second registered version scoring the same images: paired comparison",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="score again even when a result for the same key is stored",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        namespace = Namespace(**options)
        try:
            if namespace.model_version and namespace.checkpoint:
                raise BenchmarkCommandError("give --model-version or --checkpoint, not both")
            version = (
                model_version_named(namespace.model_version) if namespace.model_version else None
            )
            model = version_spec(version) if version else model_from_options(namespace)
            compare = None
            if namespace.compare_model_version:
                compare = version_spec(model_version_named(namespace.compare_model_version))
            elif namespace.compare_checkpoint:
                compare = ModelSpec(
                    Path(namespace.compare_checkpoint).name,
                    model.architecture,
                    namespace.compare_checkpoint,
                    model.model_config,
                )
            # The raw streams: tqdm's carriage returns must not get Django's line endings.
            stdout, stderr = cast(TextIO, self.stdout._out), cast(TextIO, self.stderr._out)
            if version is not None:
                result = run_version_benchmark(
                    namespace, version, stdout, stderr, force=namespace.force, compare_model=compare
                ).output
            else:
                result = run_benchmark_command(
                    namespace, model, stdout, stderr, compare_model=compare
                )
        except (BenchmarkCommandError, ScoringError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(result))
