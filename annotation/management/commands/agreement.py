import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project, Split
from annotation.quality import compute_agreement


class Command(BaseCommand):
    help = "Print a project's agreement report (pairwise agreement, alpha, Kendall's W, ceiling)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument("--split", choices=Split.values)
        parser.add_argument("--batch", type=int, help="Only this batch (its id).")
        parser.add_argument("--guideline-version", help="Only judgments made under it.")
        parser.add_argument("--json", action="store_true", help="The whole report as JSON.")
        parser.add_argument("--fresh", action="store_true", help="Ignore the cached report.")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(
                f"no project {options['project']!r}; list them with GET /api/v1/projects/"
            )
        report = compute_agreement(
            project,
            split=options["split"],
            batch=options["batch"],
            guideline_version=options["guideline_version"],
            use_cache=not options["fresh"],
        )
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        for key in (
            "judgments", "tasks", "multi_annotator_tasks", "pairwise_agreement",
            "krippendorff_alpha", "kendall_w_mean", "human_ceiling", "left_share",
        ):  # fmt: skip
            self.stdout.write(f"{key:24} {report[key]}")
        for entry in report["annotators"]:
            flags = ", ".join(entry["quality_flags"]) or "-"
            self.stdout.write(
                f"  {entry['annotator']:24} judgments={entry['judgments']} "
                f"agreement={entry['agreement']} left_share={entry['left_share']} flags={flags}"
            )
