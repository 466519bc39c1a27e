import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from training.services.evaluation_set import (
    EvaluationSetError,
    evaluate_frozen_set,
    freeze_evaluation_set,
    frozen_set,
)


class Command(BaseCommand):
    help = (
        "Freeze a project's evaluation set: pin one of its snapshots (or a new export of "
        "its test split) so that every model version, old and new, is measured on the "
        "same test groups, with the human ceiling of those groups. Measuring the versions "
        "is queued on the gpu queue, or done here with --evaluate-now. The last line is a "
        "JSON summary."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument(
            "--snapshot",
            type=int,
            default=None,
            help="Id of a finished snapshot of the project with judged test groups "
            "(default: export the current test split now).",
        )
        parser.add_argument(
            "--evaluate-now",
            action="store_true",
            help="Measure every version in this process (else a gpu worker does it).",
        )
        parser.add_argument(
            "--show", action="store_true", help="Only print the frozen set; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"no project {options['project']!r}; give an existing slug")
        try:
            frozen = (
                frozen_set(project)
                if options["show"]
                else freeze_evaluation_set(project, options["snapshot"])
            )
            measured = evaluate_frozen_set(project) if options["evaluate_now"] else None
        except EvaluationSetError as exc:
            raise CommandError(str(exc)) from exc
        summary: dict[str, Any] = {"project": project.slug, "snapshot": None}
        if frozen is not None:
            summary.update(
                snapshot=frozen.snapshot.pk,
                test_groups=frozen.groups,
                human_ceiling=frozen.ceiling,
                frozen_at=frozen.frozen_at.isoformat() if frozen.frozen_at else None,
            )
        if measured is not None:
            summary["versions_measured"] = measured
        self.stdout.write(json.dumps(summary))
