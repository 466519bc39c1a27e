"""The production stack in docker/: compose.yml, the two Dockerfiles, the entrypoint, .dockerignore.

No Docker engine is needed: compose.yml is parsed with PyYAML and its `${...}` interpolations
are resolved by a small helper that follows Compose's rules, so a broken stack fails here
rather than at `docker compose up` on the production host.
"""

import json
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKER_DIR = ROOT / "docker"
COMPOSE_FILE = DOCKER_DIR / "compose.yml"

SERVICES = {"postgres", "redis", "web", "worker", "beat", "gpu-worker", "flower"}
APP_SERVICES = ("web", "worker", "beat", "gpu-worker")
MEDIA_SERVICES = ("web", "worker", "gpu-worker")
DOCKERFILE_OF = {
    "web": "docker/Dockerfile",
    "worker": "docker/Dockerfile",
    "beat": "docker/Dockerfile",
    "gpu-worker": "docker/Dockerfile.gpu",
}
# The variables an operator must set; compose.yml gives none of them a default.
REQUIRED_VARIABLES = (
    "DJANGO_SECRET_KEY",
    "DJANGO_ALLOWED_HOSTS",
    "POSTGRES_PASSWORD",
    "FLOWER_BASIC_AUTH",
)
SECRET_VARIABLES = ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "FLOWER_BASIC_AUTH")
TEST_ENVIRONMENT = {
    "DJANGO_SECRET_KEY": "test-secret-key",
    "DJANGO_ALLOWED_HOSTS": "hpd.example.org",
    "POSTGRES_PASSWORD": "test-postgres-password",
    "FLOWER_BASIC_AUTH": "ops:test-flower-password",
}


# --- a reader for the subset of Compose and Dockerfile syntax the stack uses


class MissingVariableError(Exception):
    """A `${VAR:?message}` (or `${VAR?message}`) whose variable is not set."""


_INTERPOLATION = re.compile(
    r"\$\$"  # an escaped dollar, left for the container's shell
    r"|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<operator>:?[-?])(?P<argument>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


def interpolate(text: str, environment: dict[str, str]) -> str:
    """Resolve `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`, `$$`.

    As in Compose, the `:` forms treat an empty variable like an unset one.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        operator, argument = match.group("operator"), match.group("argument") or ""
        value = environment.get(name)
        missing = value is None or (value == "" and operator in (":-", ":?"))
        if operator in (":-", "-"):
            return argument if missing else str(value)
        if operator in (":?", "?"):
            if missing:
                raise MissingVariableError(f"{name}: {argument}")
            return str(value)
        return "" if value is None else value

    return _INTERPOLATION.sub(replace, text)


def interpolate_tree(node: Any, environment: dict[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, environment)
    if isinstance(node, dict):
        return {key: interpolate_tree(value, environment) for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(item, environment) for item in node]
    return node


def raw_compose() -> dict[str, Any]:
    """compose.yml with anchors merged and nothing interpolated."""
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "docker/compose.yml is not a YAML mapping"
    return data


def load_compose(environment: dict[str, str] | None = None) -> dict[str, Any]:
    env = TEST_ENVIRONMENT if environment is None else environment
    compose: dict[str, Any] = interpolate_tree(raw_compose(), env)
    return compose


def environment_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {key: "" if value is None else str(value) for key, value in environment.items()}


def mounts_of(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Mount target -> (source, read_only), from the short or the long volume syntax."""
    mounts = {}
    for volume in service.get("volumes") or []:
        if isinstance(volume, str):
            source, target, *mode = volume.split(":")
            read_only = bool(mode) and "ro" in mode[0].split(",")
        else:
            source, target = volume.get("source", ""), volume["target"]
            read_only = bool(volume.get("read_only", False))
        mounts[target] = (source, read_only)
    return mounts


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) per logical line: continuations joined, comments dropped."""
    instructions, pending = [], ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    return instructions


def dockerfile_command(path: Path, instruction: str) -> list[str]:
    """The last CMD or ENTRYPOINT of a Dockerfile as an argv list; [] when there is none."""
    found = [
        arguments for keyword, arguments in dockerfile_instructions(path) if keyword == instruction
    ]
    if not found:
        return []
    arguments = found[-1]
    if arguments.startswith("["):
        argv = json.loads(arguments)
        assert isinstance(argv, list)
        return [str(word) for word in argv]
    return ["/bin/sh", "-c", arguments]


def dockerfile_environment(path: Path) -> dict[str, str]:
    environment = {}
    for keyword, arguments in dockerfile_instructions(path):
        if keyword != "ENV":
            continue
        words = shlex.split(arguments)
        if "=" not in words[0]:  # the legacy `ENV NAME value` form
            environment[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            name, _, value = word.partition("=")
            environment[name] = value
    return environment


def words_of(argv: list[str]) -> list[str]:
    """The words a command runs, looking inside `sh -c SCRIPT`."""
    if len(argv) >= 3 and Path(argv[0]).name in ("sh", "bash") and argv[1] == "-c":
        return shlex.split(argv[2])
    return argv


def option_value(words: list[str], *names: str) -> str | None:
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                return words[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def dockerfile_of(service: dict[str, Any]) -> Path:
    build = service["build"]
    context = COMPOSE_FILE.parent / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    return (context / dockerfile).resolve()


def command_of(service: dict[str, Any]) -> list[str]:
    """What the container runs: the service's command, or else its image's CMD."""
    command = service.get("command")
    if command is None:
        return words_of(dockerfile_command(dockerfile_of(service), "CMD"))
    if isinstance(command, str):
        return shlex.split(command)
    return words_of([str(word) for word in command])


def seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, f"bad duration {duration!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


# --- the reader itself


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "value", "EMPTY": ""}
    assert interpolate("${SET} $SET ${SET:-d} ${SET:?e}", env) == "value value value value"
    assert interpolate("${UNSET:-fallback} ${EMPTY:-fallback} ${EMPTY-kept}", env) == (
        "fallback fallback "
    )
    assert interpolate("$${SHELL_VARIABLE} ${UNSET}", env) == "${SHELL_VARIABLE} "
    with pytest.raises(MissingVariableError, match="UNSET: say what to set"):
        interpolate("${UNSET:?say what to set}", env)
    with pytest.raises(MissingVariableError, match="EMPTY"):
        interpolate("${EMPTY:?must not be empty}", env)
    assert interpolate("${EMPTY?only unset fails}", env) == ""


# --- compose.yml


def test_the_stack_has_its_seven_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SERVICES


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_build_from_the_repository_with_their_dockerfile(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    build = services[name]["build"]
    assert (COMPOSE_FILE.parent / build["context"]).resolve() == ROOT
    assert dockerfile_of(services[name]) == ROOT / DOCKERFILE_OF[name]
    assert dockerfile_of(services[name]).is_file()


def test_web_runs_gunicorn_on_port_8000(services: dict[str, dict[str, Any]]) -> None:
    web = services["web"]
    words = command_of(web)
    program = words[1:] if words[0] == "exec" else words
    assert program[0] == "gunicorn"
    assert "config.wsgi:application" in program
    assert option_value(program, "--bind", "-b") == "0.0.0.0:8000"
    # One process per core, threads for requests that wait (gthread).
    assert option_value(program, "--workers", "-w") == "${GUNICORN_WORKERS:-$(nproc)}"
    assert option_value(program, "--threads") == "${GUNICORN_THREADS:-8}"
    assert option_value(program, "--access-logfile") == "-"
    assert any(str(port).endswith(":8000") for port in web["ports"])


def test_worker_consumes_the_default_queue(services: dict[str, dict[str, Any]]) -> None:
    words = command_of(services["worker"])
    assert words[0] == "celery"
    assert option_value(words, "-A", "--app") == "config.celery_app"
    assert "worker" in words
    assert option_value(words, "-Q", "--queues") == "default"


def test_gpu_worker_consumes_the_gpu_queue_one_task_at_a_time(
    services: dict[str, dict[str, Any]],
) -> None:
    words = command_of(services["gpu-worker"])
    assert words[0] == "celery"
    assert option_value(words, "-A", "--app") == "config.celery_app"
    assert "worker" in words
    assert option_value(words, "-Q", "--queues") == "gpu"
    assert option_value(words, "-c", "--concurrency") == "1"


def test_beat_runs_celery_beat_once(services: dict[str, dict[str, Any]]) -> None:
    beat = services["beat"]
    words = command_of(beat)
    assert words[0] == "celery"
    assert option_value(words, "-A", "--app") == "config.celery_app"
    assert "beat" in words
    assert "worker" not in words
    # A second beat would enqueue every periodic task twice.
    assert beat.get("deploy", {}).get("replicas", 1) == 1


def test_gpu_worker_reserves_nvidia_gpus() -> None:
    def gpu_devices(compose: dict[str, Any]) -> list[dict[str, Any]]:
        gpu_worker = compose["services"]["gpu-worker"]
        devices: list[dict[str, Any]] = gpu_worker["deploy"]["resources"]["reservations"]["devices"]
        return devices

    (device,) = gpu_devices(load_compose())
    assert device["driver"] == "nvidia"
    assert "gpu" in device["capabilities"]
    assert str(device["count"]) == "all"
    (device,) = gpu_devices(load_compose({**TEST_ENVIRONMENT, "GPU_COUNT": "2"}))
    assert str(device["count"]) == "2"


def test_flower_watches_the_broker_behind_basic_auth(services: dict[str, dict[str, Any]]) -> None:
    flower = services["flower"]
    image, _, tag = flower["image"].partition(":")
    assert image == "mher/flower"
    assert re.fullmatch(r"\d+\.\d+(\.\d+)?", tag), "pin mher/flower to a version tag"
    environment = environment_of(flower)
    assert environment["CELERY_BROKER_URL"] == environment_of(services["worker"])["REDIS_URL"]
    assert environment["FLOWER_BASIC_AUTH"] == TEST_ENVIRONMENT["FLOWER_BASIC_AUTH"]
    assert any(str(port).endswith(":5555") for port in flower["ports"])


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_reach_postgres_and_redis(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    environment = environment_of(services[name])
    postgres = environment_of(services["postgres"])
    database = urlsplit(environment["DATABASE_URL"])
    assert database.scheme in ("postgres", "postgresql")
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert database.username == postgres["POSTGRES_USER"]
    assert (
        database.password == TEST_ENVIRONMENT["POSTGRES_PASSWORD"] == postgres["POSTGRES_PASSWORD"]
    )
    assert database.path == "/" + postgres["POSTGRES_DB"]
    broker = urlsplit(environment["REDIS_URL"])
    assert (broker.scheme, broker.hostname) == ("redis", "redis")
    assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"
    assert environment["DJANGO_SECRET_KEY"] == TEST_ENVIRONMENT["DJANGO_SECRET_KEY"]
    assert environment["DJANGO_ALLOWED_HOSTS"] == TEST_ENVIRONMENT["DJANGO_ALLOWED_HOSTS"]
    assert environment["HF_HUB_OFFLINE"] == "1"


def test_media_volume_is_shared_at_one_path(compose: dict[str, Any]) -> None:
    services = compose["services"]
    targets = set()
    for name in MEDIA_SERVICES:
        mounts = mounts_of(services[name])
        media_root = environment_of(services[name])["MEDIA_ROOT"]
        assert media_root in mounts, f"{name}: MEDIA_ROOT {media_root} is not a mount"
        source, read_only = mounts[media_root]
        assert source in compose["volumes"], f"{name}: {source} is not a named volume"
        assert not read_only, f"{name} must be able to write media"
        targets.add((source, media_root))
    assert len(targets) == 1, f"media is mounted differently: {targets}"


def test_exports_volume_is_shared_by_the_writers_and_web_at_one_path(
    compose: dict[str, Any],
) -> None:
    """Workers write export snapshots, web streams them, training reads them."""
    services = compose["services"]
    targets = set()
    for name in MEDIA_SERVICES:
        mounts = mounts_of(services[name])
        export_root = environment_of(services[name])["EXPORT_ROOT"]
        assert export_root in mounts, f"{name}: EXPORT_ROOT {export_root} is not a mount"
        source, read_only = mounts[export_root]
        assert source in compose["volumes"] and not read_only, name
        targets.add((source, export_root))
    assert len(targets) == 1, f"exports are mounted differently: {targets}"


def test_models_volume_is_read_only_for_web_and_writable_for_workers(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    web_models = [m for m in mounts_of(services["web"]).items() if m[1][0] == "models"]
    assert web_models, "web must see the model checkpoints"
    ((target, (_, read_only)),) = web_models
    assert read_only
    assert "models" in compose["volumes"]
    for name in ("worker", "gpu-worker"):
        assert mounts_of(services[name]).get(target) == ("models", False), name


def test_only_web_applies_migrations(services: dict[str, dict[str, Any]]) -> None:
    assert environment_of(services["web"]).get("DJANGO_MIGRATE") in ("1", "true")
    for name in ("worker", "beat", "gpu-worker"):
        assert "DJANGO_MIGRATE" not in environment_of(services[name]), name


def test_postgres_redis_and_web_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    def probe(name: str) -> str:
        test = services[name]["healthcheck"]["test"]
        return test if isinstance(test, str) else " ".join(test)

    assert "pg_isready" in probe("postgres")
    assert "redis-cli" in probe("redis")
    assert "ping" in probe("redis")
    assert "http://127.0.0.1:8000/healthz" in probe("web")
    # The probe must not be answered by the HTTPS redirect or refused for its Host header.
    assert "X-Forwarded-Proto" in probe("web")
    assert "DJANGO_ALLOWED_HOSTS" in probe("web")


def test_workers_and_flower_have_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    for name, hostname in (("worker", "default@"), ("gpu-worker", "gpu@")):
        test = services[name]["healthcheck"]["test"]
        probe = test if isinstance(test, str) else " ".join(test)
        assert "inspect ping" in probe and f"--destination {hostname}$HOSTNAME" in probe, name
        # The ping names the hostname the worker's command gives itself.
        assert f"{hostname}%h" in command_of(services[name])
    flower = " ".join(services["flower"]["healthcheck"]["test"])
    assert "http://127.0.0.1:5555/healthcheck" in flower


def test_postgres_18_with_its_data_on_a_volume(compose: dict[str, Any]) -> None:
    postgres = compose["services"]["postgres"]
    assert re.fullmatch(r"postgres:18(\.\d+)*(-[a-z0-9]+)?", postgres["image"])
    # PostgreSQL 18 images keep the data below /var/lib/postgresql/18/, not in .../data.
    assert mounts_of(postgres)["/var/lib/postgresql"][0] in compose["volumes"]


def test_redis_appends_every_write_to_disk(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:7")
    command = redis["command"]
    words = command if isinstance(command, list) else shlex.split(command)
    assert option_value(words, "--appendonly") == "yes"
    assert mounts_of(redis)["/data"][0] in compose["volumes"]


def test_dependencies_wait_for_healthy_services(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions"
        for dependency, rule in depends_on.items():
            assert rule["condition"] == "service_healthy", f"{name} -> {dependency}"
            assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    for name in APP_SERVICES:
        assert {"postgres", "redis"} <= set(services[name]["depends_on"]), name
    assert "redis" in services["flower"]["depends_on"]


def test_every_service_restarts_unless_stopped(services: dict[str, dict[str, Any]]) -> None:
    assert {name: s.get("restart") for name, s in services.items()} == dict.fromkeys(
        SERVICES, "unless-stopped"
    )


@pytest.mark.parametrize(("name", "at_least"), [("worker", 300), ("gpu-worker", 600)])
def test_workers_get_time_to_finish_their_tasks_on_stop(
    services: dict[str, dict[str, Any]], name: str, at_least: int
) -> None:
    assert seconds(services[name]["stop_grace_period"]) >= at_least


@pytest.mark.parametrize("variable", REQUIRED_VARIABLES)
def test_a_missing_required_variable_stops_compose_with_a_message(variable: str) -> None:
    environment = {k: v for k, v in TEST_ENVIRONMENT.items() if k != variable}
    with pytest.raises(MissingVariableError, match=rf"^{variable}: \S+") as error:
        load_compose(environment)
    assert "set " in str(error.value), "the message should say what to set"
    with pytest.raises(MissingVariableError, match=rf"^{variable}:"):
        load_compose({**environment, variable: ""})


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
def test_secrets_have_no_default(variable: str) -> None:
    text = COMPOSE_FILE.read_text()
    uses = re.findall(r"\$\{" + variable + r"([^A-Za-z0-9_][^}]*)?\}", text)
    assert uses, f"{variable} is not used"
    assert all(use.startswith(":?") for use in uses), f"{variable} must be ${{{variable}:?...}}"


def test_no_environment_value_is_a_literal_secret() -> None:
    secret_name = re.compile(r"SECRET|PASSWORD|BASIC_AUTH|TOKEN", re.IGNORECASE)
    for name, service in raw_compose()["services"].items():
        for key, value in environment_of(service).items():
            if secret_name.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", value), f"{name}: {key}={value!r}"
        database_url = environment_of(service).get("DATABASE_URL")
        if database_url is not None:
            assert "${POSTGRES_PASSWORD:?" in database_url, name


# --- the images


@pytest.mark.parametrize("dockerfile", ["docker/Dockerfile", "docker/Dockerfile.gpu"])
def test_image_runs_as_non_root_offline_from_the_copied_project(dockerfile: str) -> None:
    path = ROOT / dockerfile
    instructions = dockerfile_instructions(path)
    assert ("COPY", ". /app") in instructions
    assert ("WORKDIR", "/app") in instructions
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), "the process must not run as root"
    assert any("requirements.txt" in arguments for keyword, arguments in instructions)
    environment = dockerfile_environment(path)
    assert environment["HF_HUB_OFFLINE"] == "1"
    assert environment["DJANGO_SETTINGS_MODULE"] == "config.settings.production"


@pytest.mark.parametrize("dockerfile", ["docker/Dockerfile", "docker/Dockerfile.gpu"])
def test_image_entrypoint_and_command_name_files_in_the_repository(dockerfile: str) -> None:
    path = ROOT / dockerfile
    argv = dockerfile_command(path, "ENTRYPOINT") + words_of(dockerfile_command(path, "CMD"))
    assert argv
    referenced = []
    for index, word in enumerate(argv):
        if word.startswith("/app/"):
            referenced.append(ROOT / word.removeprefix("/app/"))
        elif re.fullmatch(r"[a-z_]+(\.[a-z_]+)+:[a-z_]+", word):  # module:attribute
            referenced.append(ROOT / (word.split(":")[0].replace(".", "/") + ".py"))
        elif index > 0 and argv[index - 1] in ("-A", "--app"):
            referenced.append(ROOT / (word.replace(".", "/") + ".py"))
    assert referenced, f"{dockerfile} names nothing from the repository"
    for file in referenced:
        assert file.is_file(), f"{dockerfile} refers to {file.relative_to(ROOT)}, which is missing"


def test_entrypoint_is_a_shell_script_that_execs_the_command() -> None:
    entrypoint = DOCKER_DIR / "entrypoint.sh"
    text = entrypoint.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert 'exec "$@"' in text
    assert "DJANGO_MIGRATE" in text
    assert "migrate" in text


def test_web_image_is_python_311_slim_and_collects_static_files() -> None:
    instructions = dockerfile_instructions(ROOT / "docker/Dockerfile")
    bases = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    assert bases[-1].startswith("python:3.11-slim")
    runs = " ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    assert "manage.py collectstatic --noinput" in runs
    assert ("EXPOSE", "8000") in instructions


def test_gpu_image_is_cuda_13_with_python_311() -> None:
    instructions = dockerfile_instructions(ROOT / "docker/Dockerfile.gpu")
    bases = [arguments for keyword, arguments in instructions if keyword == "FROM"]
    assert re.fullmatch(r"nvidia/cuda:13\.\d+(\.\d+)?-runtime-ubuntu\d+\.\d+", bases[-1])
    runs = " ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    assert "python3.11 -m venv" in runs


def test_both_images_run_as_the_same_uid() -> None:
    """Both write to the media and models volumes, so the files must have one owner."""

    def uid(dockerfile: str) -> str | None:
        runs = [a for k, a in dockerfile_instructions(ROOT / dockerfile) if k == "RUN"]
        return next((option_value(shlex.split(r), "--uid") for r in runs if "useradd" in r), None)

    assert uid("docker/Dockerfile") is not None
    assert uid("docker/Dockerfile") == uid("docker/Dockerfile.gpu")


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".data", ".git"} <= ignored


def test_gpu_worker_trains_on_its_gpus_into_the_models_volume_that_web_reads() -> None:
    services = load_compose()["services"]
    gpu_worker = environment_of(services["gpu-worker"])
    assert gpu_worker["TRAINING_GPUS"] == "all"
    two = load_compose({**TEST_ENVIRONMENT, "TRAINING_GPUS": "2"})["services"]["gpu-worker"]
    assert environment_of(two)["TRAINING_GPUS"] == "2"
    root = gpu_worker["TRAINING_ROOT"]
    for name, writes in (("gpu-worker", True), ("web", False)):
        service = services[name]
        assert environment_of(service)["TRAINING_ROOT"] == root, name
        volumes = [
            (target, read_only)
            for target, (source, read_only) in mounts_of(service).items()
            if source == "models" and root.startswith(target.rstrip("/") + "/")
        ]
        assert volumes and volumes[0][1] is not writes, (name, mounts_of(service))
    # The broker redelivers an unacknowledged run only after this; it must outlast a run.
    assert int(gpu_worker["CELERY_VISIBILITY_TIMEOUT"]) >= 12 * 3600
