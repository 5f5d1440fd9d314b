"""The two SQL expressions the dashboard needs that SQLite and PostgreSQL spell differently.

- :class:`shanghai_day`: the Asia/Shanghai calendar day of a stored UTC timestamp. PostgreSQL
  converts with the time-zone database; SQLite adds eight hours, which is the same thing: China has
  kept UTC+8 without daylight saving since 1991. Values come back as :class:`datetime.date`
  (PostgreSQL) or ``YYYY-MM-DD`` text (SQLite): read them with :func:`as_day`.
- :class:`elapsed_ms`: whole milliseconds from one timestamp to another (rounded). SQLite's date
  functions keep milliseconds, PostgreSQL microseconds, so the two may differ by one millisecond.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

__all__ = ["as_day", "elapsed_ms", "shanghai_day"]


class shanghai_day(FunctionElement[Any]):
    """``shanghai_day(ts)``: the Shanghai day of the UTC timestamp ``ts``."""

    type = sa.Date()
    inherit_cache = True
    name = "shanghai_day"


class elapsed_ms(FunctionElement[int]):
    """``elapsed_ms(later, earlier)``: ``later - earlier`` in whole milliseconds."""

    type = sa.BigInteger()
    inherit_cache = True
    name = "elapsed_ms"


def _args(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> list[str]:
    return [compiler.process(clause, **kw) for clause in element.clauses]


@compiles(shanghai_day, "postgresql")
def _day_postgresql(element: shanghai_day, compiler: SQLCompiler, **kw: Any) -> str:
    [moment] = _args(element, compiler, **kw)
    return f"CAST(({moment}) AT TIME ZONE 'Asia/Shanghai' AS DATE)"


@compiles(shanghai_day, "sqlite")
def _day_sqlite(element: shanghai_day, compiler: SQLCompiler, **kw: Any) -> str:
    [moment] = _args(element, compiler, **kw)
    return f"date({moment}, '+8 hours')"


@compiles(elapsed_ms, "postgresql")
def _elapsed_postgresql(element: elapsed_ms, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"CAST(ROUND(EXTRACT(EPOCH FROM ({later}) - ({earlier})) * 1000) AS BIGINT)"


@compiles(elapsed_ms, "sqlite")
def _elapsed_sqlite(element: elapsed_ms, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = _args(element, compiler, **kw)
    return f"CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400000.0) AS INTEGER)"


def as_day(value: date | str) -> date:
    """A :class:`shanghai_day` value as a date, whichever database produced it."""
    return value if isinstance(value, date) else date.fromisoformat(value)
