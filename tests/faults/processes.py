"""The platform's own processes for fault tests: web server, Celery worker, an annotator load.

Each runs as a real subprocess with its own environment (the dedicated servers' URLs,
MEDIA_ROOT...), its output in a log file the test reads.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
# Every wait in these tests is a liveness bound (a hung server fails the test instead of
# hanging the suite), never a speed target.
START_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 15.0
# An annotator's pause between tasks: a steady load that leaves the two CI cores some air.
PAUSE_S = 0.05


def wait_for(condition: Callable[[], bool], what: str, timeout: float = START_TIMEOUT_S) -> None:
    """Poll `condition` until it holds; fail the test naming `what` if it never does."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class AppProcess:
    """A platform process started by a test; stopped (with its children) by `stop`."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def assert_running(self) -> None:
        assert self.process.poll() is None, f"{self.name} exited:\n{self.log_text()[-3000:]}"

    def kill(self) -> None:
        """SIGKILL the process and everything it started (its process group)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        # Children left behind (a prefork pool) go with the group.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)


def start_process(name: str, command: list[str], env: dict[str, str], log: Path) -> AppProcess:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: `kill` reaches its children
        )
    return AppProcess(name, process, log)


@contextlib.contextmanager
def web_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """gunicorn with the project's gunicorn.conf.py: one worker, four threads. Yields its URL."""
    port = free_port()
    server = start_process(
        "gunicorn",
        [str(BIN_DIR / "gunicorn"), "config.wsgi", "-c", "gunicorn.conf.py",
         "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4",
         "--timeout", "60"],
        env,
        log,
    )  # fmt: skip
    try:

        def listening() -> bool:
            server.assert_running()
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        wait_for(listening, "gunicorn to listen")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def start_worker(
    env: dict[str, str], log: Path, *, pool: str = "solo", beat: bool = False
) -> AppProcess:
    """A Celery worker on the default queue (with embedded beat when `beat`)."""
    command = [
        str(BIN_DIR / "celery"), "-A", "config.celery_app", "worker", "-Q", "default",
        "--pool", pool, "--concurrency", "1", "--without-heartbeat", "--without-gossip",
        "--without-mingle", "-l", "info",
    ]  # fmt: skip
    if beat:
        command += ["--beat", "--schedule", str(log.with_suffix(".beat"))]
    return start_process("celery worker", command, env, log)


# --- HTTP as an annotator's client does it


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


def call(
    base_url: str, method: str, path: str, token: str, body: Any = None, key: str = ""
) -> Reply:
    """One API request; a refused connection or a timeout is status 0."""
    headers = {"Authorization": f"Token {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if key:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
            raw = response.read()
            status, reply_headers = response.status, dict(response.headers)
    except urllib.error.HTTPError as error:
        raw, status, reply_headers = error.read(), error.code, dict(error.headers)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return Reply(0, {}, str(error))
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode(errors="replace")
    return Reply(status, reply_headers, parsed)


@dataclass
class Submission:
    assignment: int
    key: str
    ranking: list[int]
    statuses: list[int] = field(default_factory=list)

    @property
    def stored(self) -> bool:
        return any(status in (200, 201) for status in self.statuses)


class Annotator(threading.Thread):
    """Asks for the next task and submits it, again and again, until told to stop.

    Every reply is recorded with the phase it came in (`phase["now"]`, set by the test). A
    submit that got no 200/201 is kept in `unsent`, to be retried with the same key.
    """

    def __init__(self, base_url: str, slug: str, token: str, phase: dict[str, str]):
        super().__init__(daemon=True)
        self.base_url, self.slug, self.token, self.phase = base_url, slug, token, phase
        self.stopping = threading.Event()
        self.replies: list[tuple[str, str, Reply]] = []
        self.submissions: list[Submission] = []

    def run(self) -> None:
        while not self.stopping.is_set():
            phase = self.phase["now"]
            lease = call(self.base_url, "GET", f"/api/v1/projects/{self.slug}/next/", self.token)
            self.replies.append((phase, "next", lease))
            if lease.status != 200:
                time.sleep(0.1)
                continue
            ranking = [image["id"] for image in reversed(lease.body["images"])]
            submission = Submission(lease.body["assignment"], uuid.uuid4().hex, ranking)
            self.submissions.append(submission)
            self.submit(submission)
            time.sleep(PAUSE_S)

    def submit(self, submission: Submission) -> Reply:
        reply = call(
            self.base_url, "POST", f"/api/v1/assignments/{submission.assignment}/submit/",
            self.token, {"ranking": submission.ranking, "duration_ms": 900, "flags": []},
            key=submission.key,
        )  # fmt: skip
        submission.statuses.append(reply.status)
        self.replies.append((self.phase["now"], "submit", reply))
        return reply

    @property
    def unsent(self) -> list[Submission]:
        return [submission for submission in self.submissions if not submission.stored]

    def stored_count(self, phase: str) -> int:
        return sum(
            1
            for at, kind, reply in self.replies
            if at == phase and kind == "submit" and reply.status == 201
        )

    def finish(self) -> None:
        self.stopping.set()
        self.join(REQUEST_TIMEOUT_S * 3)
        assert not self.is_alive(), "an annotator's request hung"
