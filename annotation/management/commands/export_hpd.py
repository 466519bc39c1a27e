import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.export import ExportParamsError, create_export, export_snapshot
from annotation.models import ExportSnapshot, Project
from core.progress_bar import TqdmProgress


class Command(BaseCommand):
    help = (
        "Export a project's judgments as an HPD v2 dataset (train.json, test.json, train/, "
        "test/) plus annotations.jsonl, pairs.parquet, DATASHEET.md and manifest.json. "
        "Prints the snapshot as JSON on the last line."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument("--out", required=True, type=Path, help="A new or empty folder.")
        parser.add_argument("--split", default="all", help="train, test or all (default).")
        parser.add_argument(
            "--batch", type=int, action="append", default=[], help="Only this batch (repeat)."
        )
        parser.add_argument(
            "--from", dest="created_from", help="Judgments made on/after YYYY-MM-DD."
        )
        parser.add_argument("--to", dest="created_to", help="Judgments made on/before YYYY-MM-DD.")
        parser.add_argument(
            "--exclude-flagged",
            action="store_true",
            help="Leave out annotators with quality flags.",
        )
        parser.add_argument("--exclude-gold", action="store_true", help="Leave out gold tasks.")
        parser.add_argument(
            "--min-annotators", type=int, default=1, help="Smallest test group kept (default 1)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(
                f"project {options['project']!r} does not exist; list projects at /api/v1/projects/"
            )
        parameters = {
            "split": options["split"],
            "batches": options["batch"],
            "created_from": options["created_from"],
            "created_to": options["created_to"],
            "exclude_flagged_annotators": options["exclude_flagged"],
            "exclude_gold": options["exclude_gold"],
            "min_annotators": options["min_annotators"],
        }
        try:
            snapshot = create_export(project, parameters, out=options["out"], enqueue=False)
        except ExportParamsError as exc:
            raise CommandError(
                f"{len(exc.problems)} problem(s); nothing was exported: " + "; ".join(exc.problems)
            ) from None
        progress = TqdmProgress("judgment")
        try:
            done = export_snapshot(snapshot.pk, progress)
        finally:
            progress.close()
        if done is None or done.status != ExportSnapshot.Status.DONE:
            reason = done.error if done is not None else "another process is running it"
            raise CommandError(f"export {snapshot.pk} failed: {reason}")
        self.stdout.write(
            json.dumps(
                {
                    "snapshot": done.pk,
                    "path": done.path,
                    "checksum": done.checksum,
                    "splits": done.counts.get("splits", {}),
                }
            )
        )
