from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.management.commands.add_member import project_and_user
from annotation.projects import MembershipError, remove_member


class Command(BaseCommand):
    help = (
        "Take a user out of a project (idempotent): their open leases end, every judgment "
        "they made stays."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument("--user", required=True, help="The username.")

    def handle(self, *args: Any, **options: Any) -> None:
        project, user = project_and_user(options["project"], options["user"])
        try:
            removal = remove_member(project, user)
        except MembershipError as exc:
            raise CommandError(str(exc)) from exc
        if removal.removed:
            self.stdout.write(
                f"removed {user.username!r} from {project.slug} (was {removal.previous_role}; "
                f"{removal.leases_ended} open lease(s) ended; judgments kept)"
            )
        else:
            self.stdout.write(f"{user.username!r} was not a member of {project.slug}")
