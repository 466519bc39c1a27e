"""Server-side prepared statements for the annotator hot path.

Planning the next-task and submit statements costs PostgreSQL more than running them;
a statement prepared once per connection (connections persist: CONN_MAX_AGE) is planned
once, or a few times until PostgreSQL settles on a generic plan. Prepared statements
live as long as the session and are not undone by a rollback.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import Model

_NAMED = re.compile(r"%\((\w+)\)s")
# Per raw psycopg2 connection: the names prepared on it. Weak, so a closed connection
# (and a reconnect's new one) never inherits a stale set.
_prepared: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()
_converted: dict[str, tuple[str, list[str]]] = {}


def _convert(sql: str) -> tuple[str, list[str]]:
    """`%(name)s` placeholders to `$1..$n`, and the parameter names in that order."""
    order: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    return _NAMED.sub(number, sql), order


def execute_prepared(cursor: CursorWrapper, name: str, sql: str, params: dict[str, Any]) -> None:
    """Run `sql` (with `%(name)s` placeholders) as the prepared statement `name`.

    Prepares it first if this connection has not. Parameters whose type PostgreSQL cannot
    infer from their place in `sql` must carry a cast (`%(x)s::bigint[]`).
    """
    if name not in _converted:
        _converted[name] = _convert(sql)
    text, order = _converted[name]
    raw = connection.connection
    names = _prepared.setdefault(raw, set())
    if name not in names:
        cursor.execute(f"PREPARE {name} AS {text}")
        names.add(name)
    placeholders = ", ".join(["%s"] * len(order))
    cursor.execute(f"EXECUTE {name}({placeholders})", [params[key] for key in order])


def insert_columns(model: type[Model]) -> tuple[str, str]:
    """`(col, ...)` and `%(attname)s::type, ...` for every concrete field but the key.

    Built from the model, so a field added later (with a Python default) is written too:
    the raw INSERTs of the hot path never fall behind the model.
    """
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(f'"{field.column}"' for field in fields)
    values = ", ".join(f"%({field.attname})s::{field.db_type(connection)}" for field in fields)
    return columns, values


def insert_params(instance: Model) -> dict[str, Any]:
    """The database values of `instance`'s fields, named as insert_columns names them."""
    return {
        field.attname: field.get_db_prep_save(field.pre_save(instance, True), connection)
        for field in instance._meta.concrete_fields
        if not field.primary_key
    }


def fetch_instance(model: type[Model], name: str, sql: str, params: dict[str, Any]) -> Model | None:
    """The one `model` row that the prepared statement `name` selects, or None.

    `sql` selects `{columns}` (filled in with every concrete column of `model`, in field
    order) from `model`'s table aliased `m`; the row becomes an instance as the ORM would
    load it, without compiling an ORM query.
    """
    fields = model._meta.concrete_fields
    text = sql.format(columns=", ".join(f'm."{field.column}"' for field in fields))
    with connection.cursor() as cursor:
        execute_prepared(cursor, name, text, params)
        row = cursor.fetchone()
    if row is None:
        return None
    return model.from_db(connection.alias, [field.attname for field in fields], row)
