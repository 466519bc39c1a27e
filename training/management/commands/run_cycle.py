import json
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from core.progress_bar import TqdmProgress
from training.models import TrainingRun
from training.services.cycle import run_cycle, run_summary, start_cycle
from training.services.lease import LeaseHeld
from training.services.reporting import CycleReporter


class ConsoleReporter(CycleReporter):
    """Stages as lines on stderr, the export's and the training's progress as bars."""

    training_bar = True

    def __init__(self, run_id: int) -> None:
        super().__init__()
        self.run_id = run_id
        self.bar = TqdmProgress("judgment")
        self.export = self.bar

    def stage(self, text: str) -> None:
        print(f"[run {self.run_id}] {text}", file=sys.stderr, flush=True)


class Command(BaseCommand):
    help = (
        "Run one training cycle of a project now: export a snapshot, fine-tune from the "
        "active model (or the base weights), evaluate candidate, active and base models on "
        "the test split, register the candidate and promote it if it beats the active one "
        "by the project's margin. Resumes the project's unfinished run if there is one. "
        "The last line is a JSON summary."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Start even when fewer new judgments than the policy's minimum arrived.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(
                f"project {options['project']!r} does not exist; list projects at /api/v1/projects/"
            )
        started = start_cycle(
            project, trigger=TrainingRun.Trigger.COMMAND, force=options["force"], enqueue=False
        )
        if started.run is None:
            self.stderr.write(f"nothing to do: {started.reason}")
            self.stdout.write(
                json.dumps({"run": None, "project": project.slug, "status": "skipped",
                            "reason": started.reason})
            )  # fmt: skip
            return
        run = started.run
        reporter = ConsoleReporter(run.pk)
        reporter.stage("started" if started.created else f"resuming: {started.reason}")
        try:
            run = run_cycle(run.pk, reporter=reporter)
        except LeaseHeld as exc:
            raise CommandError(f"{exc}; wait for it to finish (see /manage/training/)") from None
        except KeyboardInterrupt:
            raise CommandError(
                f"interrupted; run {run.pk} stays unfinished: run the same command again to "
                "resume it from its last checkpoint"
            ) from None
        finally:
            reporter.bar.close()
        self.stdout.write(json.dumps(run_summary(run)))
        if run.status != TrainingRun.Status.SUCCEEDED:
            raise CommandError(f"training run {run.pk} {run.status}: {run.error}")
