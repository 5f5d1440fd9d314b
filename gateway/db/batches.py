"""Statements over a batch of rows whose SQL text depends only on the batch's padded size.

A statement that names each row of a batch (``id IN (…)``, ``CASE id WHEN … THEN … END``) has a
different text for every batch size: SQLAlchemy compiles it again and the database parses and
plans it again, every time. Built instead over :func:`padded_size` slots of bound parameters
(``:id0``, ``:id1``, … and ``:<name>0``, ``:<name>1``, … per value), a batch statement has one text per
power of two, so it is compiled once, and asyncpg's prepared statements are reused. The unused
slots are filled by :func:`slot_params` with a key no row has and ``NULL`` values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa

__all__ = ["MIN_SLOTS", "cases", "padded_size", "slot_params", "slots"]

MIN_SLOTS = 8
"""The smallest padded size: batches of 1 to 8 rows share one statement."""


def padded_size(count: int) -> int:
    """The number of slots for ``count`` rows: a power of two, at least :data:`MIN_SLOTS`."""
    return max(MIN_SLOTS, 1 << (max(count, 1) - 1).bit_length())


def slots(column: sa.ColumnElement[Any], size: int, name: str = "id") -> list[sa.BindParameter[Any]]:
    """``size`` bound parameters ``:<name>0 …`` typed like ``column``, for ``column.in_(slots(…))``."""
    return [sa.bindparam(f"{name}{n}", type_=column.type) for n in range(size)]


def cases(key: sa.ColumnElement[Any], column: sa.ColumnElement[Any], size: int, name: str) -> sa.Case[Any]:
    """``CASE WHEN key = :id<n> THEN :<name><n> … ELSE column END``: a per-row value for ``column``."""
    return sa.case(
        *[
            (key == sa.bindparam(f"id{n}"), sa.bindparam(f"{name}{n}", type_=column.type))
            for n in range(size)
        ],
        else_=column,
    )


def slot_params(
    size: int, keys: Sequence[Any], values: Mapping[str, Sequence[Any]] | None = None, *, filler: Any = ""
) -> dict[str, Any]:
    """Parameters of a batch statement: ``id<n>`` for each key, ``<name><n>`` for each value list
    (aligned with ``keys``); slots past the keys get ``filler`` (a key no row has) and ``NULL``."""
    params: dict[str, Any] = {f"id{n}": keys[n] if n < len(keys) else filler for n in range(size)}
    for name, column in (values or {}).items():
        params.update({f"{name}{n}": column[n] if n < len(keys) else None for n in range(size)})
    return params
