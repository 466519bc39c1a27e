"""Settings come from the environment; wrong or missing values fail loudly at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_django(settings_module: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base.update(env, DJANGO_SETTINGS_MODULE=settings_module)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sqlite_is_refused_with_a_clear_message() -> None:
    result = start_django("config.settings.local", DATABASE_URL="sqlite:///db.sqlite3")

    assert result.returncode != 0
    assert "DATABASE_URL must point to PostgreSQL" in result.stderr
    assert "SQLite and other databases are not supported" in result.stderr


def test_production_without_a_secret_key_does_not_start() -> None:
    result = start_django("config.settings.production", DJANGO_ALLOWED_HOSTS="example.org")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_without_allowed_hosts_does_not_start() -> None:
    result = start_django("config.settings.production", DJANGO_SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_starts_with_its_required_variables() -> None:
    result = start_django(
        "config.settings.production", DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="example.org"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


def test_production_serves_collected_static_files_with_whitenoise(tmp_path: Path) -> None:
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "from django.core.management import call_command; "
        "call_command('collectstatic', '--noinput', verbosity=0); "
        "from django.test import Client; "
        "from django.templatetags.static import static; "
        "url = static('css/site.css'); "
        "r = Client().get(url, secure=True, HTTP_HOST='example.org'); "
        "print(settings.MIDDLEWARE[1], url, r.status_code, r['Content-Type'], sep='|')"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="example.org",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    middleware, url, status, content_type = result.stdout.strip().split("|")
    assert middleware == "whitenoise.middleware.WhiteNoiseMiddleware"
    # A hashed name: browsers may cache it for good.
    assert (
        url.startswith("/static/css/site.")
        and url.endswith(".css")
        and url != "/static/css/site.css"
    )
    assert status == "200" and content_type.startswith("text/css")


def run_entry_point(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter with `env` and no DJANGO_ variables of ours."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_entry_points_of_a_production_image_refuse_to_start_on_default_settings() -> None:
    for code in (
        "import config.wsgi",
        "import config.asgi",
        "import config.celery_app",
        "import sys, manage; sys.argv = ['manage.py', 'check']; manage.main()",
    ):
        result = run_entry_point(code, HPD_IMAGE="production")
        assert result.returncode == 1, (code, result.stderr)
        assert "Refusing to start a production image with no DJANGO_SETTINGS_MODULE" in (
            result.stderr
        ), code
    local = run_entry_point(
        "import config.wsgi", HPD_IMAGE="production", DJANGO_SETTINGS_MODULE="config.settings.local"
    )
    assert local.returncode == 1
    assert "DJANGO_SETTINGS_MODULE=config.settings.local" in local.stderr


def test_outside_an_image_the_local_settings_stay_the_default() -> None:
    from config.entry import choose_settings

    environ: dict[str, str] = {}
    assert choose_settings(environ) == "config.settings.local" == environ["DJANGO_SETTINGS_MODULE"]
    explicit = {"DJANGO_SETTINGS_MODULE": "config.settings.production", "HPD_IMAGE": "production"}
    assert choose_settings(explicit) == "config.settings.production"


def test_both_images_mark_themselves_as_production_images() -> None:
    for name in ("Dockerfile", "Dockerfile.gpu"):
        assert "HPD_IMAGE=production" in (ROOT / "docker" / name).read_text(), name


def test_production_api_answers_json_only_even_to_a_browser() -> None:
    script = (
        "import django; django.setup(); "
        "from rest_framework.settings import api_settings; "
        "print([r.__name__ for r in api_settings.DEFAULT_RENDERER_CLASSES])"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    base.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY="x" * 50,
        DJANGO_ALLOWED_HOSTS="example.org",
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=base, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['JSONRenderer']"
