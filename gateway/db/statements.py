"""What both engines share: statements compiled once per dialect, bind processors per table, and
the plain SQLAlchemy unit of work that any ``AsyncEngine`` runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

_T = TypeVar("_T")

ProbeCache = dict[sa.Select[Any], tuple[str, list[str], dict[str, Any]]]
Binder = tuple[str, Callable[[Any], Any] | None]
BinderCache = dict[str, list[Binder]]


def binders(cache: BinderCache, table: sa.Table, dialect: sa.Dialect) -> list[Binder]:
    """Each column of ``table`` with ``dialect``'s bind processor for it (None: the value as it is),
    in the table's column order; worked out once per table, kept in ``cache``."""
    columns = cache.get(table.name)
    if columns is None:
        columns = cache[table.name] = [
            (c.name, c.type.dialect_impl(dialect).bind_processor(dialect)) for c in table.columns
        ]
    return columns


def lookup_sql(
    cache: ProbeCache, dialect: sa.Dialect, statement: sa.Select[Any], params: Mapping[str, Any]
) -> tuple[str, list[Any]]:
    """``statement``'s SQL for ``dialect`` (compiled once per statement object, kept in ``cache``)
    and its positional values: ``params`` over the statement's own (e.g. its LIMIT)."""
    compiled = cache.get(statement)
    if compiled is None:
        done = statement.compile(dialect=dialect)
        compiled = cache[statement] = (str(done), list(done.positiontup or ()), dict(done.params))
    sql, names, defaults = compiled
    values = {**defaults, **params}
    return sql, [values[name] for name in names]


def fetch_rows(
    statement: sa.Select[Any], params: Mapping[str, Any], conn: Connection
) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(statement, params)]


async def sqlalchemy_unit(
    engine: AsyncEngine, work: Callable[[Connection], _T], *, writes: bool = True
) -> _T:
    """:func:`gateway.db.run_unit` through SQLAlchemy's async adapter, on any engine: one
    ``run_sync`` call on the event loop. A unit that does not write runs in autocommit, without the
    BEGIN and COMMIT round trips (on PostgreSQL, 350 -> 263 us of CPU per primary-key read under
    32 concurrent readers).
    """
    if not writes:
        async with engine.connect() as conn:
            reader = await conn.execution_options(isolation_level="AUTOCOMMIT")
            return await reader.run_sync(work)
    async with engine.begin() as conn:
        return await conn.run_sync(work)
