import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project
from annotation.quality import DEGRADATIONS, GoldError, make_gold_pairs


class Command(BaseCommand):
    help = "Make gold pair tasks: project images against blurred, noised or distorted copies."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="Project slug.")
        parser.add_argument("--count", type=int, default=20, help="How many gold pairs.")
        parser.add_argument("--kinds", default=",".join(DEGRADATIONS), help="Comma-separated.")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(
                f"no project {options['project']!r}; list them with GET /api/v1/projects/"
            )
        kinds = tuple(kind.strip() for kind in options["kinds"].split(",") if kind.strip())
        try:
            tasks = make_gold_pairs(
                project, count=options["count"], kinds=kinds, seed=options["seed"]
            )
        except GoldError as exc:
            raise CommandError(f"{exc}. No gold pairs were made.") from None
        self.stdout.write(json.dumps({"gold_tasks": len(tasks), "task_ids": tasks}))
