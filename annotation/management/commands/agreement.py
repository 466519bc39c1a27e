import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project, Split
from annotation.quality import compute_agreement

FIGURES_WITH_INTERVALS = {
    "pairwise_agreement", "krippendorff_alpha", "kendall_w_mean", "human_ceiling"
}  # fmt: skip


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
            interval = report["intervals"].get(key) if key in FIGURES_WITH_INTERVALS else None
            shown = f"  95% [{interval[0]}, {interval[1]}]" if interval else ""
            self.stdout.write(f"{key:24} {report[key]}{shown}")
        for entry in report["annotators"]:
            flags = ", ".join(entry["quality_flags"]) or "-"
            interval = entry["agreement_interval"]
            shown = f" [{interval[0]}, {interval[1]}]" if interval else ""
            self.stdout.write(
                f"  {entry['annotator']:24} judgments={entry['judgments']} "
                f"agreement={entry['agreement']}{shown} n={entry['agreement_judgments']} "
                f"left_share={entry['left_share']} flags={flags}"
            )
