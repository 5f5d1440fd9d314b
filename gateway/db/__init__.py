"""Data access: one style per kind of work, on a plain SQLAlchemy ``AsyncEngine``.

- **CRUD** goes through ORM sessions (sqlmodel ``AsyncSession``) from :func:`session_factory`.
- **Hot paths** (lookups, claims, the usage ledger's batches, multi-statement writes) go through
  Core units of work, :func:`run_unit`: a synchronous function on a Core ``Connection`` run in one
  transaction through ``AsyncConnection.run_sync``; :func:`rows`, :func:`exists` and
  :func:`insert_rows` are units too; :class:`GroupCommit` writes concurrent callers' items in one
  unit (reports arriving on many SMS sessions at once); :mod:`gateway.db.batches` builds batch
  statements whose text depends only on the padded batch size, so they compile once.

Every connection comes from the engine's one fixed pool (:func:`create_engine`, sized by
``GATEWAY_DB_POOL_SIZE``; ``docs/deploy.md`` says how to size it for N processes). ``sqlite:///path``
runs on aiosqlite (WAL, busy timeout, foreign keys on), ``postgresql://`` on asyncpg. On SQLite,
writing transactions take turns in process (:mod:`gateway.db.sessions`). Schema changes are alembic
revisions in ``gateway/migrations``, applied by :func:`migrate` under an advisory lock on
PostgreSQL so concurrent starts do not race.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import overload

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.db.engine import DEFAULT_POOL_SIZE, async_url, create_engine
from gateway.db.groups import GroupCommit
from gateway.db.sessions import GatedSession, WriterGate, bound_engine, session_factory, writer_gate
from gateway.db.units import exists, insert_rows, rows, run_unit

__all__ = [
    "DEFAULT_POOL_SIZE",
    "GatedSession",
    "GroupCommit",
    "WriterGate",
    "as_utc",
    "async_url",
    "bound_engine",
    "create_engine",
    "exists",
    "insert_rows",
    "migrate",
    "rows",
    "run_unit",
    "session_factory",
    "writer_gate",
]

MIGRATIONS = Path(__file__).parent.parent / "migrations"
_LOCK_ID = 0x6A7E_0001


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the latest revision of every branch (features add their own branches)."""
    await run_unit(engine, _upgrade)


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    """A stored datetime as timezone-aware UTC (SQLite hands back naive values)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
