"""Rows written straight through the database driver (SQLite's, psycopg), on the issue
path.

SQLAlchemy's ``Connection.execute`` costs 40-80 µs of Python a statement (an
execution context, the compiled cache's lookup, the parameters processed by name, a
result), and an issue's transaction runs five of them: a third of the server's CPU for
a ticket went to the commit (docs/performance.md, section 1). ``write_row`` runs an
``INSERT`` (or an upsert) that SQLAlchemy compiled once, through the SQLite driver's
own cursor, with the very values SQLAlchemy would have sent: each column's bind
processor (times as SQLAlchemy stores them) applied in the compiled statement's
order; ``first_row`` reads one row the same way (the fence's epoch, read at the start
of every write transaction: 19 -> 6 µs in a hot loop, about 0.1 ms of a commit as the
server makes them, one every 20 ms; docs/performance.md). The same row,
in the same transaction (the driver's connection SQLAlchemy holds), and a failure
raised as SQLAlchemy would raise it (``IntegrityError``, ``OperationalError``), so
``Store._writing`` turns it into ``Conflict`` or ``Unavailable`` as before.

On PostgreSQL (psycopg, whose statements SQLAlchemy compiles with named parameters,
``%(name)s``) the values go by name, as SQLAlchemy sends them; a failure that means the
connection is gone invalidates it as ``Connection.execute`` would, so the pool never
hands it out again (docs/performance.md, section 1: the server's CPU per ticket on
PostgreSQL).

``all_rows`` reads every row of a ``SELECT`` through SQLite's own cursor, converting
the columns SQLAlchemy would convert (times, dates, booleans) by their types itself:
a report of every centre's day reads thousands of rows, and SQLAlchemy's per-column
processing (a regular expression for each time) was a third of it.

Anything this cannot do exactly as SQLAlchemy would is left to ``Connection.execute``:
another database or driver, a statement whose compiled form needs more than the
values given (a column's Python-side default, an escaped parameter name), and a read
whose columns SQLAlchemy would convert (a result processor: times, booleans).
"""

from __future__ import annotations

import contextlib
import weakref
from collections import namedtuple
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from .tables import UTCDateTime

#: what ``_plan`` made of a statement for one set of column names: the SQL, per
#: parameter (in order, where the driver takes them by position) its name and bind
#: processor (None: the value as it is), and whether the driver takes them by name;
#: None where ``Connection.execute`` must run it
_Plan = tuple[str, tuple[tuple[str, Callable[[Any], Any] | None], ...], bool] | None

#: the drivers whose cursor this runs statements through (by dialect name)
DRIVERS = {"sqlite": "pysqlite", "postgresql": "psycopg"}

#: plans by statement (held weakly: they go with the ``Store`` that built it), then
#: the database's dialect and the column names
_plans: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], _Plan]] = weakref.WeakKeyDictionary()


def write_row(conn: sa.Connection, statement: Any, values: dict[str, Any]) -> None:
    """``conn.execute(statement, values)`` for an ``INSERT`` or upsert built once and
    kept (its plan is kept with it: never pass a statement built anew for each row)."""
    plan = _plan_for(conn, statement, tuple(values))
    if plan is None:
        conn.execute(statement, values)
        return
    sql, order, named = plan
    _run(conn, sql, _parameters(values, order, named))


def write_rows(conn: sa.Connection, statement: Any, rows: Sequence[dict[str, Any]]) -> None:
    """``conn.execute(statement, rows)`` (rows with the same columns), as ``write_row``."""
    if not rows:
        return
    plan = _plan_for(conn, statement, tuple(rows[0]))
    if plan is None or any(tuple(row) != tuple(rows[0]) for row in rows):
        conn.execute(statement, list(rows))
        return
    sql, order, named = plan
    for row in rows:
        _run(conn, sql, _parameters(row, order, named))


def first_row(
    conn: sa.Connection, statement: Any, values: dict[str, Any]
) -> tuple[Any, ...] | None:
    """``conn.execute(statement, values).first()`` as a plain tuple (None: no row),
    for a ``SELECT`` built once and kept, as ``write_row``."""
    plan = _plan_for(conn, statement, tuple(values), True)
    if plan is None:
        row = conn.execute(statement, values).first()
        return None if row is None else tuple(row)
    sql, order, named = plan
    found = _run(conn, sql, _parameters(values, order, named), True)
    return None if found is None else tuple(found)


def _parameters(
    values: dict[str, Any],
    order: tuple[tuple[str, Callable[[Any], Any] | None], ...],
    named: bool,
) -> Any:
    """The values as the driver takes them: by name (a dict) or in order (a list),
    each through its column's bind processor."""
    if named:
        return {
            name: values[name] if process is None else process(values[name])
            for name, process in order
        }
    return [values[name] if process is None else process(values[name]) for name, process in order]


def _run(
    conn: sa.Connection, sql: str, parameters: Any, fetch: bool = False, every: bool = False
) -> Any:
    """Run ``sql``; with ``fetch``, its first row (None if none); with ``every``, all
    its rows. A driver error is raised as SQLAlchemy raises it; one that means the
    connection is lost first invalidates this connection (``Connection.invalidate``), so
    the pool never hands it out again. (``Connection.execute`` also marks the pool's
    other connections stale; here each is found by the pool's ping when next checked
    out.)"""
    dialect = conn.dialect
    dbapi_connection = conn.connection.dbapi_connection
    cursor = None
    try:
        cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(sql, parameters)
        if every:
            return cursor.fetchall()
        return cursor.fetchone() if fetch else None
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, dbapi_connection, cursor)
        error = sa.exc.DBAPIError.instance(
            sql,
            parameters,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
        )
        if lost:
            conn.invalidate(error)
        raise error from exc
    finally:
        if cursor is not None:
            with contextlib.suppress(Exception):  # a cursor of a connection that is gone
                cursor.close()


def _plan_for(
    conn: sa.Connection, statement: Any, names: tuple[str, ...], reading: bool = False
) -> _Plan:
    if DRIVERS.get(conn.dialect.name) != conn.dialect.driver:
        return None
    by_names = _plans.get(statement)
    if by_names is None:
        by_names = _plans[statement] = {}
    # a statement kept at module level (an estimate's insert) serves both databases
    key = (conn.dialect.name, *names)
    if key not in by_names:
        by_names[key] = _plan(conn.dialect, statement, names, reading)
    return by_names[key]


def _plan(dialect: sa.Dialect, statement: Any, names: tuple[str, ...], reading: bool) -> _Plan:
    if reading:
        compiled = statement.compile(dialect=dialect)
        if any(
            column.type.dialect_impl(dialect).result_processor(dialect, None) is not None
            for column in compiled._result_columns
        ):
            return None  # SQLAlchemy would convert what the driver gives
    else:
        compiled = statement.compile(dialect=dialect, column_keys=list(names))
    if (
        compiled.escaped_bind_names
        or compiled.literal_execute_params
        or compiled.post_compile_params
    ):
        return None
    processors = compiled._bind_processors
    if compiled.positional:
        order = compiled.positiontup
        if order is None or set(order) != set(names) or len(order) != len(names):
            return None
        return compiled.string, tuple((name, processors.get(name)) for name in order), False
    if dialect.paramstyle != "pyformat" or set(compiled.bind_names.values()) != set(names):
        return None
    return compiled.string, tuple((name, processors.get(name)) for name in names), True


def _utc_time(value: Any) -> datetime | None:
    """A time as SQLAlchemy stores it in SQLite (``YYYY-MM-DD HH:MM:SS.ffffff``, UTC
    with ``UTCDateTime``), as ``UTCDateTime`` reads it: aware, in UTC."""
    if value is None:
        return None
    # (the offset parsed with the digits gives ``UTC`` itself, and is four times as
    # quick as ``replace(tzinfo=UTC)`` after)
    return datetime.fromisoformat(value + "+00:00")


def _date(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


#: what ``all_rows`` makes of a statement on SQLite: the SQL, its parameters in order
#: (name and bind processor), the row type and each column's converter (None: the
#: value as the driver gives it); None where ``Connection.execute`` must run it
_ReadPlan = tuple[str, tuple[tuple[str, Callable[[Any], Any] | None], ...], Any, tuple[Any, ...]]


def all_rows(conn: sa.Connection, statement: Any) -> list[Any]:
    """``list(conn.execute(statement))`` for a ``SELECT``, as rows read by column name
    (``row.issued_at``) or position: on SQLite through the driver's own cursor, each
    column converted as SQLAlchemy converts it (``UTCDateTime``, ``Date``,
    ``Boolean``; any other column that SQLAlchemy would convert sends the statement to
    ``Connection.execute``, as does any other database)."""
    if conn.dialect.name != "sqlite" or conn.dialect.driver != "pysqlite":
        return list(conn.execute(statement))
    compiled = statement.compile(dialect=conn.dialect)
    plan = _read_plan(conn, compiled)
    if plan is None:
        return list(conn.execute(statement))
    sql, order, row_type, converters = plan
    fetched = _run(conn, sql, _parameters(compiled.params, order, False), every=True)
    if not fetched:
        return []
    # column by column (``map`` runs each converter without a Python loop a value)
    columns: list[Any] = list(zip(*fetched, strict=True))
    for at, convert in enumerate(converters):
        if convert is not None:
            columns[at] = map(convert, columns[at])
    return list(map(row_type._make, zip(*columns, strict=True)))


def _read_plan(conn: sa.Connection, compiled: Any) -> _ReadPlan | None:
    if (
        not compiled.positional
        or compiled.escaped_bind_names
        or compiled.literal_execute_params
        or compiled.post_compile_params
        or compiled.positiontup is None
    ):
        return None
    converters: list[Any] = []
    keys = []
    for entry in compiled._result_columns:
        kind = entry.type
        if isinstance(kind, UTCDateTime):
            converters.append(_utc_time)
        elif kind.dialect_impl(conn.dialect).result_processor(conn.dialect, None) is None:
            converters.append(None)
        elif isinstance(kind, sa.Date) and not isinstance(kind, sa.DateTime):
            converters.append(_date)
        elif isinstance(kind, sa.Boolean):
            converters.append(_bool)
        else:
            return None  # a type this does not convert as SQLAlchemy would
        keys.append(entry.keyname)
    if len(set(keys)) != len(keys):
        return None
    row_type = _row_types.get(tuple(keys))
    if row_type is None:
        try:
            row_type = namedtuple("Row", keys)  # type: ignore[misc]
        except ValueError:
            return None  # (a column name that is no attribute name)
        _row_types[tuple(keys)] = row_type
    processors = compiled._bind_processors
    order = tuple((name, processors.get(name)) for name in compiled.positiontup)
    return compiled.string, order, row_type, tuple(converters)


#: named tuple types by column names, made once
_row_types: dict[tuple[str, ...], Any] = {}
