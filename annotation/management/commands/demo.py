import json
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotation.demo import seed_demo


class Command(BaseCommand):
    help = "Seed the demo projects and users (idempotent) and print the demo logins."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--groups", type=int, default=60, help="Train prompt groups per project."
        )
        parser.add_argument(
            "--no-judgments",
            action="store_true",
            help="Leave every task unjudged (no simulated annotators).",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even under production settings (the demo accounts' passwords are "
            "printed and fixed).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION_SETTINGS and not options["force"]:
            raise CommandError(
                "Refusing to seed the demo under production settings: it creates accounts "
                "(an admin among them) whose passwords are fixed and printed. Run it on a "
                "local or staging database, or pass --force if you really mean it."
            )
        summaries, logins, model = seed_demo(
            options["groups"], with_judgments=not options["no_judgments"]
        )
        for summary in summaries:
            self.stdout.write(f"imported demo project: {json.dumps(summary.as_dict())}")
        self.stdout.write(f"demo model: {model.note}")
        self.stdout.write("Demo logins (local use only):")
        for login in logins:
            self.stdout.write(f"  {login.role:<10} {login.username:<16} {login.password}")
