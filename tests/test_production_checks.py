"""Production settings pass Django's deployment checks, and log JSON lines with request ids."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def production(command: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "LOG_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="hpd.example.org",
    )
    env.update(extra)
    return subprocess.run(
        [sys.executable, *command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = production(["manage.py", "check", "--deploy", "--fail-level", "WARNING"])

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_fails_on_a_weak_secret_key() -> None:
    """The check above can fail: a short key is a deployment warning."""
    result = production(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], DJANGO_SECRET_KEY="short"
    )

    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_production_logs_one_json_object_per_line_with_the_request_id(tmp_path: Path) -> None:
    # As the production image does at build time: pages name static files by their
    # manifest entries, so the error page needs collected static files to render.
    static_root = str(tmp_path / "static")
    collected = production(
        ["manage.py", "collectstatic", "--noinput"], DJANGO_STATIC_ROOT=static_root
    )
    assert collected.returncode == 0, collected.stderr
    script = (
        "import django, logging; django.setup(); "
        "from django.test import Client; "
        "from django.conf import settings; "
        "r = Client().get('/no-such-page/', secure=True, HTTP_HOST='hpd.example.org', "
        "HTTP_X_REQUEST_ID='probe-42'); "
        "print(r.status_code, r['X-Request-ID'], r['Strict-Transport-Security'], "
        "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, sep='|')"
    )
    result = production(["-c", script], DJANGO_STATIC_ROOT=static_root)

    assert result.returncode == 0, result.stderr
    status, request_id, hsts, session_secure, csrf_secure = result.stdout.strip().split("|")
    assert (status, request_id) == ("404", "probe-42")
    assert hsts.startswith("max-age=31536000") and session_secure == csrf_secure == "True"
    records = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    not_found = [r for r in records if r["logger"] == "django.request"]
    assert not_found, result.stderr
    assert not_found[0]["request_id"] == "probe-42"
    assert not_found[0]["level"] == "WARNING" and "Not Found" in not_found[0]["message"]
