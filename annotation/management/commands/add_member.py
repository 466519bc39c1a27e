from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project, ProjectRole, User
from annotation.projects import add_member


class Command(BaseCommand):
    help = "Make a user a member of a project in a role; run again to change the role (idempotent)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument("--user", required=True, help="The username.")
        parser.add_argument("--role", required=True, choices=ProjectRole.values)

    def handle(self, *args: Any, **options: Any) -> None:
        project, user = project_and_user(options["project"], options["user"])
        change = add_member(project, user, options["role"])
        if change.created:
            self.stdout.write(f"added {user.username!r} to {project.slug} as {options['role']}")
        elif change.previous_role != options["role"]:
            self.stdout.write(
                f"{user.username!r} in {project.slug}: {change.previous_role} -> {options['role']}"
            )
        else:
            self.stdout.write(f"{user.username!r} is already {options['role']} in {project.slug}")


def project_and_user(slug: str, username: str) -> tuple[Project, User]:
    project = Project.objects.filter(slug=slug).first()
    if project is None:
        raise CommandError(f"no project {slug!r}; import a batch into it first (import_batch)")
    user = User.objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"no user {username!r}; create the account first (add_user)")
    return project, user
