"""Reaching the real services of the test run from subprocesses (workers, servers)."""

from __future__ import annotations

import os
from urllib.parse import quote, urlencode

from django.db import connection


def test_database_url() -> str:
    """DATABASE_URL of the test database pytest-django created, for a child process."""
    conf = connection.settings_dict
    host = conf.get("HOST") or ""
    options = dict(conf.get("OPTIONS") or {})
    socket_dir = options.pop("host", "")
    auth = quote(conf.get("USER") or "")
    if conf.get("PASSWORD"):
        auth += ":" + quote(conf["PASSWORD"])
    netloc = f"{auth}@{host}" + (f":{conf['PORT']}" if conf.get("PORT") else "")
    query = {"host": socket_dir} if socket_dir else {}
    url = f"postgres://{netloc}/{quote(conf['NAME'])}"
    return url + ("?" + urlencode(query) if query else "")


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child process that must see the test database."""
    env = dict(os.environ)
    env["DATABASE_URL"] = test_database_url()
    env["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    env.update(extra)
    return env
