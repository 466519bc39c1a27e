import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from annotation.intake import ImportJobRefused, retry_import_job
from annotation.models import ImportJob


class Command(BaseCommand):
    help = (
        "Queue again an import job whose worker was stopped before it finished (it runs "
        "from the start, what the stopped run left removed first). Prints the job as JSON."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("job", type=int, help="The import job's id (GET /api/v1/imports/).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            job = retry_import_job(options["job"])
        except ImportJob.DoesNotExist:
            raise CommandError(f"no import job {options['job']}; check the id") from None
        except ImportJobRefused as refused:
            raise CommandError(str(refused)) from None
        self.stdout.write(
            json.dumps({"id": job.pk, "status": job.status, "project": job.project_slug})
        )
