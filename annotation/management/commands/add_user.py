from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.models import Role
from annotation.projects import AccountError, add_user


class Command(BaseCommand):
    help = "Create a user with a role. Prints the user's API token as the last line."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="Generated and printed when omitted.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            account = add_user(options["name"], options["role"], options["password"])
        except AccountError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"created {account.user.role} {account.user.username!r}")
        if account.generated_password:
            self.stdout.write(f"password: {account.password}")
        self.stdout.write(account.token)
