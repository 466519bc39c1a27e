from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from core.disk import format_bytes
from training.services.retention import prune


class Command(BaseCommand):
    help = (
        "Remove the files of export snapshots and the checkpoints of training runs that "
        "finished more than --keep-days ago, and report the space freed. Never removed: a "
        "registered model version's checkpoint, anything of a live run, the newest done "
        "snapshot of each project, a frozen evaluation set."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--keep-days",
            type=int,
            default=None,
            help=f"Keep what finished in the last N days (default RETENTION_DAYS, now "
            f"{settings.RETENTION_DAYS}).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would go; remove nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        keep_days = options["keep_days"]
        if keep_days is None:
            keep_days = settings.RETENTION_DAYS
        if keep_days < 0:
            raise CommandError(f"--keep-days must be 0 or more, not {keep_days}")
        report = prune(keep_days, dry_run=options["dry_run"])
        verb = "would remove" if report.dry_run else "removed"
        for item in report.removed:
            self.stdout.write(f"{verb} {item.what}: {item.path} ({format_bytes(item.bytes)})")
        freed = "would free" if report.dry_run else "freed"
        self.stdout.write(
            f"{freed} {format_bytes(report.bytes)} ({report.bytes} bytes) in "
            f"{len(report.removed)} item(s), keeping what finished in the last {keep_days} "
            "day(s)"
        )
