"""Stored HPS v2 benchmark results and the benchmark jobs of the API.

A result is stored per reuse key: (generator, model version, images' checksum,
precision, antialias), the checksum being scoring/core/benchmark.py `images_checksum`
over every prompt and image file. `run_version_benchmark` (manage.py benchmark
--model-version, and the `gpu` queue's BENCHMARK_JOB_TASK) looks the key up first and
reuses a stored result unless told to recompute (`force`); otherwise it scores, then
stores the figures under the key (replacing an older row with the same key).

The web process never scores: POST /api/v1/benchmarks/ records a BenchmarkJob with
folders under settings.BENCHMARK_ROOT (`create_benchmark_job`) and queues it.
"""

from __future__ import annotations

import argparse
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from scoring.benchmark_cli import (
    BenchmarkCommandError,
    ModelSpec,
    add_benchmark_arguments,
    generator_name,
    print_table,
    run_benchmark_command,
)
from scoring.cli import PRECISION_CHOICES
from scoring.models import BenchmarkJob, BenchmarkResult, JobStatus, ModelVersion
from scoring.services import ScoringError, model_version_named, queue_job, start_job

logger = logging.getLogger(__name__)

# The Celery task (scoring/tasks.py, `gpu` queue) that runs run_benchmark_job.
BENCHMARK_JOB_TASK = "scoring.run_benchmark_job"


class BenchmarkRequestError(ScoringError):
    """A benchmark request that cannot be run; the message says what to fix."""


@dataclass(frozen=True)
class BenchmarkOutcome:
    result: BenchmarkResult
    reused: bool
    output: dict[str, Any]  # the command's JSON object


def version_spec(version: ModelVersion) -> ModelSpec:
    return ModelSpec(
        version.name, version.architecture, version.checkpoint_path, version.model_config
    )


def _device(options: argparse.Namespace) -> str:
    """The device the run uses: --device, else SCORING_DEVICE (cuda when present)."""
    if options.device:
        return str(options.device)
    from scoring.runtime import scoring_device

    return scoring_device()


def reuse_key(options: argparse.Namespace) -> dict[str, Any]:
    """The key's fields other than the model version: generator, images' checksum, and
    the precision that will run on this device (fp32 on a CPU) and the antialias.
    Raises BenchmarkCommandError when the folders are not laid out as the benchmark's."""
    from scoring.core.benchmark import BenchmarkLayoutError, images_checksum, read_layout
    from scoring.core.scorer import effective_precision

    try:
        items = read_layout(Path(options.prompts), Path(options.images))
    except BenchmarkLayoutError as exc:
        raise BenchmarkCommandError(str(exc)) from exc
    return {
        "generator": generator_name(options.generator, options.images),
        "images_checksum": images_checksum(items),
        "precision": effective_precision(options.precision, _device(options)),
        "antialias": options.antialias == "on",
    }


def stored_output(result: BenchmarkResult) -> dict[str, Any]:
    """A stored result as the benchmark command's JSON object, plus its id."""
    return {
        "generator": result.generator,
        "model": result.model_version.name,
        "precision": result.precision,
        "antialias": result.antialias,
        "images_checksum": result.images_checksum,
        **result.figures,
        "skipped": result.skipped,
        "comparison": None,
        "stored_result": result.pk,
        "reused": True,
    }


def store_result(
    version: ModelVersion, output: Mapping[str, Any], *, bootstrap: int, seed: int
) -> BenchmarkResult:
    """Store (or replace) the figures of one run under its reuse key."""
    key = {
        "generator": output["generator"],
        "model_version": version,
        "images_checksum": output["images_checksum"],
        "precision": output["precision"],
        "antialias": output["antialias"],
    }
    values = {
        "figures": {"styles": output["styles"], "average": output["average"]},
        "skipped": list(output["skipped"]),
        "bootstrap": bootstrap,
        "seed": seed,
    }
    try:
        with transaction.atomic():
            result, _ = BenchmarkResult.objects.update_or_create(**key, defaults=values)
    except IntegrityError:  # another run stored the same key between the look-up and insert
        with transaction.atomic():
            result, _ = BenchmarkResult.objects.update_or_create(**key, defaults=values)
    return result


def run_version_benchmark(
    options: argparse.Namespace,
    version: ModelVersion,
    stdout: TextIO,
    stderr: TextIO,
    *,
    force: bool = False,
    compare_model: ModelSpec | None = None,
) -> BenchmarkOutcome:
    """Benchmark `version` on the options' folders, reusing a stored result for the same
    key unless `force` (or a comparison is asked, which always scores). Prints the table
    and what was reused or stored on `stdout`; raises BenchmarkCommandError."""
    options = argparse.Namespace(**{**vars(options), "device": _device(options)})
    key = reuse_key(options)
    if compare_model is None and not force:
        stored = (
            BenchmarkResult.objects.filter(model_version=version, **key)
            .select_related("model_version")
            .first()
        )
        if stored is not None:
            print(
                f"Reusing stored benchmark result {stored.pk} of "
                f"{stored.updated_at:%Y-%m-%d %H:%M} ({stored.bootstrap} bootstrap resamples, "
                f"seed {stored.seed}): same generator, model version, images, precision and "
                "antialias. Pass --force to score again.",
                file=stdout,
            )
            output = stored_output(stored)
            print_table(output, stdout)
            return BenchmarkOutcome(stored, True, output)
    output = run_benchmark_command(
        options, version_spec(version), stdout, stderr, compare_model=compare_model
    )
    result = store_result(version, output, bootstrap=options.bootstrap, seed=options.seed)
    output = {**output, "stored_result": result.pk, "reused": False}
    print(f"Stored as benchmark result {result.pk}.", file=stdout)
    return BenchmarkOutcome(result, False, output)


# --- the API's jobs


def benchmark_root() -> Path:
    return Path(settings.BENCHMARK_ROOT).resolve()


def folder_under_root(field: str, given: str) -> Path:
    """`given` (absolute, or relative to BENCHMARK_ROOT) as an existing folder under
    BENCHMARK_ROOT; raises BenchmarkRequestError saying what is wrong."""
    root = benchmark_root()
    path = (root / given).resolve()
    if not path.is_relative_to(root):
        raise BenchmarkRequestError(
            f"{field}: {given} is outside the benchmark folder {root} (BENCHMARK_ROOT); "
            "copy the benchmark there and give its path relative to that folder"
        )
    if not path.is_dir():
        raise BenchmarkRequestError(
            f"{field}: {given} is not a folder under {root}; give an existing folder"
        )
    return path


def create_benchmark_job(
    version_name: str | None, parameters: Mapping[str, Any], created_by: Any = None
) -> BenchmarkJob:
    """Record a queued job and send it to the `gpu` queue after the commit. The folders
    must lie under BENCHMARK_ROOT; raises BenchmarkRequestError (nothing is recorded)."""
    version = model_version_named(version_name)
    prompts = folder_under_root("prompts", str(parameters["prompts"]))
    images = folder_under_root("images", str(parameters["images"]))
    precision = parameters.get("precision")
    if precision is not None and precision not in PRECISION_CHOICES:
        raise BenchmarkRequestError(
            f"precision: {precision!r} is not one of {', '.join(PRECISION_CHOICES)}"
        )
    stored = {key: value for key, value in parameters.items() if value is not None}
    stored.update(prompts=str(prompts), images=str(images))
    with transaction.atomic():
        job = BenchmarkJob.objects.create(
            model_version=version, parameters=stored, created_by=created_by
        )
        transaction.on_commit(lambda: queue_job(BENCHMARK_JOB_TASK, job))
    job.refresh_from_db()  # outside a wider transaction the job is queued (or failed) by now
    return job


def job_options(parameters: Mapping[str, Any]) -> argparse.Namespace:
    """The benchmark command's options for a job's parameters: parsed by the command's
    own parser, so what a request leaves out gets the command's default."""
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    add_benchmark_arguments(parser, registry=True)
    argv = ["--prompts", str(parameters["prompts"]), "--images", str(parameters["images"])]
    argv += ["--batch-size", str(getattr(settings, "SCORING_BATCH_SIZE", 64))]
    for name in ("generator", "precision", "bootstrap", "seed"):
        if parameters.get(name) is not None:
            argv += [f"--{name}", str(parameters[name])]
    if parameters.get("antialias") is not None:
        argv += ["--antialias", "on" if parameters["antialias"] else "off"]
    if parameters.get("allow_missing"):
        argv.append("--allow-missing")
    try:
        return parser.parse_args(argv)
    except argparse.ArgumentError as exc:
        raise BenchmarkCommandError(f"the job's parameters are not valid: {exc}") from exc


def run_benchmark_job(job_id: int) -> BenchmarkJob | None:
    """Run a queued (or redelivered running) job; a finished one is left as it is."""
    job: BenchmarkJob | None = start_job(BenchmarkJob, job_id)
    if job is None:
        return None
    out = io.StringIO()
    try:
        outcome = run_version_benchmark(
            job_options(job.parameters),
            job.model_version,
            out,
            out,
            force=bool(job.parameters.get("force")),
        )
    except (BenchmarkCommandError, ScoringError) as exc:
        job.status, job.error = JobStatus.FAILED, str(exc)
    else:
        job.status, job.result, job.reused = JobStatus.DONE, outcome.result, outcome.reused
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "result", "reused", "finished_at"])
    if job.status == JobStatus.FAILED:
        logger.warning("benchmark job %s failed: %s", job.pk, job.error)
    return job


def benchmark_results(
    model_version: str | None = None, generator: str | None = None
) -> QuerySet[BenchmarkResult]:
    """Stored results, optionally of one version (by name) and/or one generator."""
    results = BenchmarkResult.objects.select_related("model_version")
    if model_version:
        results = results.filter(model_version__name=model_version)
    if generator:
        results = results.filter(generator=generator)
    return results


# --- the benchmark page


@dataclass(frozen=True)
class BenchmarkCell:
    style: str  # or "average"
    mean: float
    ci_low: float
    ci_high: float
    images: int


@dataclass(frozen=True)
class BenchmarkRow:
    result: BenchmarkResult
    styles: list[BenchmarkCell]  # in BENCHMARK_STYLES order
    average: BenchmarkCell

    @property
    def label(self) -> str:
        return f"{self.result.generator} ({self.result.model_version.name})"

    @property
    def chart_row(self) -> tuple[str, float, float, float]:
        """(label, average, its interval) for core/charts.py interval_chart."""
        return (self.label, self.average.mean, self.average.ci_low, self.average.ci_high)


def _cell(style: str, figure: Mapping[str, Any]) -> BenchmarkCell:
    return BenchmarkCell(
        style,
        float(figure["mean"]),
        float(figure["ci_low"]),
        float(figure["ci_high"]),
        int(figure["images"]),
    )


def benchmark_styles(results: QuerySet[BenchmarkResult]) -> list[str]:
    """The styles of the stored results, sorted (the release's order: anime,
    concept-art, paintings, photo)."""
    return sorted({style for result in results for style in result.figures["styles"]})


def benchmark_table(results: QuerySet[BenchmarkResult], styles: list[str]) -> list[BenchmarkRow]:
    """One row per stored result, best average first: each style's and the average's
    mean with its 95% interval."""
    rows = [
        BenchmarkRow(
            result,
            [_cell(style, result.figures["styles"][style]) for style in styles],
            _cell("average", result.figures["average"]),
        )
        for result in results
    ]
    return sorted(rows, key=lambda row: -row.average.mean)
