"""50 simulated annotators doing next + submit against gunicorn and PostgreSQL.

Run with the services up:

    .venv/bin/python scripts/stack.py exec -- python benchmarks/annotate_load.py

A throwaway database gets a pairwise project with enough ready tasks and 50 annotators
with API tokens; gunicorn serves it with several workers; a separate load-client
process runs one thread per annotator (urllib3, pooled keep-alive connections), each
looping GET next/ -> POST submit/ for the measured time. Reported: sustained judgments/s,
p50/p99 latency of both calls, errors, CPU seconds per judgment (server, client, whole
machine), and a check that every 201 is exactly one stored judgment and no task got more
than K judgments. Results go to benchmarks/results/annotate_load.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import (
    ROOT,
    setup_django,
    submit_ranking,
    throwaway_database,
    write_result,
)

TARGET_JUDGMENTS_PER_S = 150
TARGET_P99_MS = 150


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- the load client (its own process)


def run_client(
    base_url: str, slug: str, tokens: list[str], seconds: float, rate: float, out: Path
) -> None:
    """Each thread is one annotator; with `rate` > 0 the annotators together start
    `rate` judgments per second (each paced at len(tokens)/rate s per judgment, the rest
    of the cycle spent "looking at the images"), else they go as fast as they can."""
    import urllib3

    stop_at = time.monotonic() + seconds
    lock = threading.Lock()
    next_ms: list[float] = []
    submit_ms: list[float] = []
    errors: list[str] = []
    created: list[int] = []
    start_cpu = os.times()

    def annotator(token: str) -> None:
        http = urllib3.PoolManager(maxsize=1, retries=False, timeout=urllib3.Timeout(total=30))
        headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        mine_next: list[float] = []
        mine_submit: list[float] = []
        mine_errors: list[str] = []
        mine_created: list[int] = []
        cycle = len(tokens) / rate if rate > 0 else 0.0
        # Spread the annotators' starts over one cycle so the load is even.
        next_start = time.monotonic() + cycle * (tokens.index(token) / len(tokens))
        while time.monotonic() < stop_at:
            if cycle:
                pause = next_start - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                next_start += cycle
            started = time.perf_counter()
            response = http.request(
                "GET", f"{base_url}/api/v1/projects/{slug}/next/", headers=headers
            )
            mine_next.append((time.perf_counter() - started) * 1000)
            if response.status == 204:
                break
            if response.status != 200:
                mine_errors.append(f"next {response.status}: {response.data[:200]!r}")
                continue
            lease = json.loads(response.data)
            ranking = [image["id"] for image in lease["images"]]
            started = time.perf_counter()
            response = submit_ranking(http, base_url, headers, lease["assignment"], ranking)
            mine_submit.append((time.perf_counter() - started) * 1000)
            if response.status == 201:
                mine_created.append(json.loads(response.data)["judgment"])
            else:
                mine_errors.append(f"submit {response.status}: {response.data[:200]!r}")
        with lock:
            next_ms.extend(mine_next)
            submit_ms.extend(mine_submit)
            errors.extend(mine_errors)
            created.extend(mine_created)

    started = time.monotonic()
    threads = [threading.Thread(target=annotator, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cpu = os.times()
    out.write_text(
        json.dumps(
            {
                "elapsed_s": elapsed,
                "next_ms": next_ms,
                "submit_ms": submit_ms,
                "errors": errors,
                "created": created,
                "client_cpu_s": (cpu.user - start_cpu.user) + (cpu.system - start_cpu.system),
            }
        )
    )


# --- the harness


def seed(annotators: int, tasks: int, judgments_per_task: int) -> tuple[str, list[str]]:
    from django.contrib.auth.hashers import make_password
    from rest_framework.authtoken.models import Token

    from annotation.models import Batch, Image, Project, Prompt, Role, Task, TaskImage, User

    project = Project.objects.create(
        slug="load",
        name="Load",
        task_type="pairwise",
        images_per_task=2,
        judgments_per_task=judgments_per_task,
        guideline_version="hpd-v2-1",
    )
    batch = Batch.objects.create(
        project=project,
        status=Batch.Status.READY,
        judgments_per_task=judgments_per_task,
        source_name="benchmark",
    )
    prompts = Prompt.objects.bulk_create(
        Prompt(project=project, batch=batch, raw_text=f"a red fox number {n}", line_number=n + 1)
        for n in range(tasks)
    )
    images = Image.objects.bulk_create(
        Image(
            project=project,
            prompt=prompts[n // 2],
            sha256=f"{n:064x}",
            file=f"images/00/00/{n:064x}.png",
            original_name=f"{n}.png",
            format="PNG",
            width=512,
            height=512,
            byte_size=1000,
        )
        for n in range(tasks * 2)
    )
    task_rows = Task.objects.bulk_create(
        Task(project=project, batch=batch, prompt=p, judgments_wanted=judgments_per_task)
        for p in prompts
    )
    TaskImage.objects.bulk_create(
        TaskImage(task=task, image=images[2 * n + k], position=k)
        for n, task in enumerate(task_rows)
        for k in range(2)
    )
    password = make_password(None)
    users = User.objects.bulk_create(
        User(username=f"load-{n}", role=Role.ANNOTATOR, password=password)
        for n in range(annotators)
    )
    tokens = Token.objects.bulk_create(Token(user=user, key=Token.generate_key()) for user in users)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return project.slug, [token.key for token in tokens]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def database_url() -> str:
    """DATABASE_URL with the throwaway database's name in place of the usual one."""
    from django.db import connection

    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def database_name() -> str:
    from django.db import connection

    name: str = connection.settings_dict["NAME"]
    return name


def warm_up(port: int, tokens: list[str]) -> None:
    """One authenticated request per worker slot, so start-up cost is not measured."""
    import urllib3

    http = urllib3.PoolManager()
    for token in tokens[:16]:
        http.request(
            "GET",
            f"http://127.0.0.1:{port}/api/v1/projects/",
            headers={"Authorization": f"Token {token}"},
        )


def wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not listen on port {port} within {timeout:.0f} s")


def process_cpu_s(pid: int) -> float:
    """utime + stime of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(master: int, database: str) -> dict[str, list[int]]:
    """gunicorn's master and workers, and the PostgreSQL backends serving `database`."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    backends = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if title.startswith("postgres: ") and f" {database} " in title:
                backends.append(int(entry.name))
    return {"gunicorn": [master, *map(int, children)], "postgres": backends}


def cpu_of(pids: dict[str, list[int]]) -> dict[str, float]:
    return {name: sum(process_cpu_s(pid) for pid in group) for name, group in pids.items()}


def machine_cpu_s() -> float:
    """Busy CPU seconds of the whole machine so far (every process, ours or not)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(x) for x in fields]
    busy = sum(ticks) - ticks[3] - ticks[4]  # minus idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def verify(created: list[int], judgments_per_task: int) -> dict[str, Any]:
    from django.db.models import Count, F

    from annotation.models import Judgment, Task

    stored_ids = set(Judgment.objects.values_list("pk", flat=True))
    stored = len(stored_ids)
    acknowledged = set(created)
    over = Task.objects.filter(judgments_done__gt=judgments_per_task).count()
    mismatched = Task.objects.annotate(n=Count("judgments")).exclude(n=F("judgments_done")).count()
    duplicates = (
        Judgment.objects.values("task", "annotator").annotate(n=Count("id")).filter(n__gt=1).count()
    )
    return {
        "stored_judgments": stored,
        "created_responses": len(created),
        # A 201 whose judgment is not in the database.
        "lost": len(acknowledged - stored_ids),
        # The same judgment acknowledged twice, or stored without any 201 for it.
        "duplicated": (len(created) - len(acknowledged)) + len(stored_ids - acknowledged),
        "tasks_over_k": over,
        "tasks_count_mismatch": mismatched,
        "duplicate_task_annotator": duplicates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 2,
        help="gunicorn worker processes (default: one per core, as docker/Dockerfile)",
    )
    parser.add_argument(
        "--threads", type=int, default=8, help="threads per gunicorn worker (gthread)"
    )
    parser.add_argument("--tasks", type=int, default=6000)
    parser.add_argument("--judgments-per-task", type=int, default=3)
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="judgments/s the annotators together aim at (0: as fast as they can)",
    )
    parser.add_argument("--label", default="", help="a note stored with the result")
    parser.add_argument("--client", nargs=4, metavar=("URL", "SLUG", "TOKENS", "OUT"))
    args = parser.parse_args()
    if args.client:
        url, slug, tokens_file, out = args.client
        tokens = json.loads(Path(tokens_file).read_text())
        run_client(url, slug, tokens, args.seconds, args.rate, Path(out))
        return

    # Production-like: no debug (which would keep every query in memory).
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["DJANGO_DEBUG"] = "false"
    setup_django()
    with throwaway_database():
        slug, tokens = seed(args.annotators, args.tasks, args.judgments_per_task)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "LOG_LEVEL": "WARNING",
        }
        gunicorn = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(args.workers),
                "--threads",
                str(args.threads),
                "--backlog",
                "512",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            wait_for(port)
            with tempfile.TemporaryDirectory() as scratch:
                tokens_file = Path(scratch) / "tokens.json"
                tokens_file.write_text(json.dumps(tokens))
                out = Path(scratch) / "client.json"
                warm_up(port, tokens)
                pids = server_pids(gunicorn.pid, database_name())
                server_before = cpu_of(pids)
                machine_before = machine_cpu_s()
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--seconds",
                        str(args.seconds),
                        "--rate",
                        str(args.rate),
                        "--client",
                        f"http://127.0.0.1:{port}",
                        slug,
                        str(tokens_file),
                        str(out),
                    ],
                    check=True,
                )
                machine_s = machine_cpu_s() - machine_before
                server_after = cpu_of(server_pids(gunicorn.pid, database_name()))
                client = json.loads(out.read_text())
        finally:
            gunicorn.send_signal(signal.SIGTERM)
            gunicorn.wait(30)
        # Backends that ended during the run are missed: the count is a lower bound.
        server_cpu = {name: server_after[name] - server_before[name] for name in server_before}
        checks = verify(client["created"], args.judgments_per_task)

    judgments = len(client["created"])
    rate = judgments / client["elapsed_s"]
    result = {
        "label": args.label,
        "annotators": args.annotators,
        "offered_rate": args.rate or "as fast as possible",
        "gunicorn": {"workers": args.workers, "threads": args.threads},
        "seconds": round(client["elapsed_s"], 2),
        "judgments": judgments,
        "judgments_per_s": round(rate, 1),
        "next_p50_ms": round(percentile(client["next_ms"], 0.5), 1),
        "next_p99_ms": round(percentile(client["next_ms"], 0.99), 1),
        "submit_p50_ms": round(percentile(client["submit_ms"], 0.5), 1),
        "submit_p99_ms": round(percentile(client["submit_ms"], 0.99), 1),
        "errors": len(client["errors"]),
        "error_samples": client["errors"][:5],
        "cpu_ms_per_judgment": {
            "gunicorn": round(1000 * server_cpu["gunicorn"] / max(1, judgments), 2),
            "postgres": round(1000 * server_cpu["postgres"] / max(1, judgments), 2),
            "client": round(1000 * client["client_cpu_s"] / max(1, judgments), 2),
            "machine_all_processes": round(1000 * machine_s / max(1, judgments), 2),
        },
        "checks": checks,
        "targets": {"judgments_per_s": TARGET_JUDGMENTS_PER_S, "p99_ms": TARGET_P99_MS},
        "load_average_after": os.getloadavg(),
    }
    name = "annotate_load" if not args.rate else f"annotate_load_rate{args.rate:g}"
    path = write_result(name, result)
    print(json.dumps({k: v for k, v in result.items() if k != "error_samples"}, indent=2))
    if client["errors"]:
        print("first errors:", *client["errors"][:5], sep="\n  ")
    print(f"written to {path}")
    ok = checks["lost"] == 0 and checks["duplicated"] == 0 and checks["tasks_over_k"] == 0
    sys.exit(0 if ok and not checks["tasks_count_mismatch"] else 1)


if __name__ == "__main__":
    main()
