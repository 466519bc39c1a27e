from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from annotation.models import Project, ProjectRole
from annotation.projects import (
    InvitationError,
    check_invite_list,
    invitations_csv,
    invite_members,
)
from core.password_reset import email_configured


class Command(BaseCommand):
    help = (
        "Make accounts for a list of people (CSV: username,email[,role]) as members of a "
        "project, each with a single-use invitation link; prints the links as CSV (and "
        "emails them where email is configured). Nothing is created if any row is wrong."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--project", required=True, help="The project's slug.")
        parser.add_argument("--csv", required=True, type=Path, help="The list (UTF-8 CSV).")
        parser.add_argument(
            "--role",
            default=ProjectRole.ANNOTATOR,
            choices=ProjectRole.values,
            help="The role of rows that name none (default annotator).",
        )
        parser.add_argument(
            "--base-url",
            default=settings.SITE_URL,
            help="The site's address the links start with (default SITE_URL).",
        )
        parser.add_argument(
            "--no-email", action="store_true", help="Print the links only, send no email."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(
                f"no project {options['project']!r}; import a batch into it first (import_batch)"
            )
        path: Path = options["csv"]
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path} is not UTF-8 text; save it as CSV UTF-8") from exc
        send = email_configured() and not options["no_email"]
        try:
            rows = check_invite_list(text, options["role"])
            result = invite_members(
                project, rows, by=None, base_url=options["base_url"], send_email=send
            )
        except InvitationError as exc:
            raise CommandError(
                f"nobody was invited; {len(exc.problems)} problem(s) in {path}:\n  "
                + "\n  ".join(exc.problems)
            ) from exc
        self.stdout.write(invitations_csv(result.invited), ending="")
        summary = f"invited {len(result.invited)} people to {project.slug}"
        if send:
            summary += f"; {result.emailed} email(s) sent"
        if result.email_error:
            summary += f"; sending failed ({result.email_error}): hand out the links above"
        self.stderr.write(summary)
