"""Inviting a crowd: a CSV of N people through `manage.py invite` (read, check every row,
refuse taken usernames, make the accounts, memberships, invitations and audit events,
print the links). Target: 1,000 people in under 10 s.

Run with the platform's services up, e.g.:
    .venv/bin/python scripts/stack.py exec -- python benchmarks/invite.py
Creates its own throwaway database; prints the seconds of each run and writes
benchmarks/results/invite.json.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from pathlib import Path

from common import median, setup_django, throwaway_database, write_result


def write_list(path: Path, prefix: str, people: int) -> Path:
    roles = ("annotator", "annotator", "annotator", "reviewer")
    lines = ["username,email,role"] + [
        f"{prefix}-{i:05d},{prefix}.{i}@example.org,{roles[i % len(roles)]}" for i in range(people)
    ]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    setup_django()
    from django.core.management import call_command

    from annotation.models import Invitation, Project

    seconds: list[float] = []
    with tempfile.TemporaryDirectory(prefix="hpd-bench-") as scratch, throwaway_database():
        for repeat in range(args.repeats):
            slug = f"crowd-{repeat}"
            Project.objects.create(slug=slug, name=f"Crowd {repeat}", images_per_task=2)
            csv_path = write_list(Path(scratch) / f"{slug}.csv", f"p{repeat}", args.people)
            out = io.StringIO()
            started = time.perf_counter()
            call_command(
                "invite", "--project", slug, "--csv", str(csv_path), "--no-email",
                stdout=out, stderr=io.StringIO(),
            )  # fmt: skip
            took = time.perf_counter() - started
            links = out.getvalue().count("/invite/")
            assert links == args.people, links
            assert Invitation.objects.filter(project__slug=slug).count() == args.people
            seconds.append(took)
            print(f"  run {repeat + 1}: {args.people} people in {took:6.2f} s", flush=True)
    result = {
        "people": args.people,
        "repeats": args.repeats,
        "target_seconds": 10,
        "median_seconds": round(median(seconds), 3),
        "all_seconds": [round(s, 3) for s in seconds],
    }
    path = write_result("invite", result)
    print(f"median {result['median_seconds']} s for {args.people} people (target < 10 s); {path}")


if __name__ == "__main__":
    main()
