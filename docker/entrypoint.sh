#!/bin/sh
# Entrypoint of the web, worker, beat and gpu-worker containers.
#
# Waits until PostgreSQL (DATABASE_URL) and Redis (REDIS_URL) accept connections, runs
# `manage.py migrate` when DJANGO_MIGRATE is true (set on the web service only), then
# replaces itself with the container's command so that the command receives stop signals.
#
#   WAIT_FOR_SERVICES_SECONDS  how long to wait for both before giving up (default 60)
#   DJANGO_MIGRATE             1/true/yes/on to apply migrations before starting
set -eu

python - <<'PY'
import os
import subprocess
import sys
import time

import psycopg2
import redis

# Any fixed 64-bit number; only migrating containers of this project take this lock.
MIGRATE_LOCK_ID = 7_420_260_001

for name in ("DATABASE_URL", "REDIS_URL"):
    if not os.environ.get(name):
        sys.exit(f"entrypoint: {name} is not set; see docker/README.md for the environment.")

deadline = time.monotonic() + float(os.environ.get("WAIT_FOR_SERVICES_SECONDS", "60"))


def wait_for(service, connect):
    while True:
        try:
            connect()
            return
        # Every failure here (refused, DNS not ready, still starting up) means "try again".
        except Exception as error:
            if time.monotonic() >= deadline:
                sys.exit(f"entrypoint: {service} did not accept connections in time: {error}")
            time.sleep(1)


wait_for(
    "PostgreSQL at DATABASE_URL",
    lambda: psycopg2.connect(os.environ["DATABASE_URL"], connect_timeout=5).close(),
)
wait_for(
    "Redis at REDIS_URL",
    lambda: redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=5).ping(),
)

if os.environ.get("DJANGO_MIGRATE", "").strip().lower() in {"1", "true", "yes", "on"}:
    # Scaled web replicas start together: one migrates, the others wait for the lock and
    # then find nothing left to apply.
    connection = psycopg2.connect(os.environ["DATABASE_URL"])
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK_ID,))
        migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"])
    finally:
        connection.close()  # closing the session releases the advisory lock
    if migrate.returncode != 0:
        sys.exit(migrate.returncode)
PY

exec "$@"
