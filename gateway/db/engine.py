"""Engines: a contract URL mapped to a plain SQLAlchemy ``AsyncEngine`` on an async driver, with a
fixed pool of ``pool_size`` connections."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["DEFAULT_POOL_SIZE", "IDLE_PING_SECONDS", "POOL_TIMEOUT", "async_url", "create_engine"]

DEFAULT_POOL_SIZE = 8
"""Connections per process when the caller does not say (``GATEWAY_DB_POOL_SIZE``'s default)."""

POOL_TIMEOUT = 5.0
"""Seconds a unit of work waits for a free pooled connection before ``sqlalchemy.exc.TimeoutError``
(answered 503 UNAVAILABLE with ``Retry-After``)."""

IDLE_PING_SECONDS = 5.0
"""A pooled PostgreSQL connection idle longer than this is pinged before it is handed out."""

_SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=5000", "foreign_keys=ON")


def async_url(url: str) -> str:
    """Map ``sqlite:///…`` / ``postgresql://…`` to their async driver URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+aiosqlite"):
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme: {parsed.drivername}")


def create_engine(url: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> AsyncEngine:
    """A plain ``AsyncEngine`` for a contract URL, with a fixed pool of ``pool_size`` connections.

    The pool has no overflow: a unit that finds every connection busy waits for one, up to
    :data:`POOL_TIMEOUT`. SQLite runs on aiosqlite; every new connection gets WAL, a 5 s busy
    timeout and foreign keys on; the file's directory is created if needed. PostgreSQL runs on
    asyncpg; a connection idle past :data:`IDLE_PING_SECONDS` is pinged at checkout and replaced
    if dead. A PostgreSQL URL may carry ``statement_cache_size=0`` (for PgBouncer in transaction
    mode): asyncpg's and SQLAlchemy's statement caches are then off and prepared statements get
    unique names.
    """
    target = make_url(async_url(url))
    pool = {"pool_size": pool_size, "max_overflow": 0, "pool_timeout": POOL_TIMEOUT}
    if target.drivername.startswith("sqlite"):
        database = target.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(target, **pool)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    connect_args: dict[str, Any] = {}
    cache_size = target.query.get("statement_cache_size")
    if cache_size is not None:
        target = target.difference_update_query(["statement_cache_size"])
        connect_args["statement_cache_size"] = int(str(cache_size))
        if connect_args["statement_cache_size"] == 0:
            target = target.update_query_dict({"prepared_statement_cache_size": "0"})
            connect_args["prepared_statement_name_func"] = _unique_statement_name
    engine = create_async_engine(target, connect_args=connect_args, **pool)
    _ping_after_idle(engine.sync_engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _unique_statement_name() -> str:
    return f"__asyncpg_{uuid.uuid4().hex}__"


def _ping_after_idle(engine: sa.Engine) -> None:
    """Ping a connection at checkout only when it sat idle past :data:`IDLE_PING_SECONDS`.

    A connection in steady use has just answered; one that sat idle (a restarted server, a
    failover, a firewall's idle timeout) is pinged and, if dead, replaced before use. A server
    lost while connections are busy fails the statements in flight once (``DBAPIError`` with
    ``connection_invalidated``), and SQLAlchemy then renews the pool.
    """
    dead = (engine.dialect.loaded_dbapi.Error, OSError)

    @event.listens_for(engine, "checkin")
    def _idle_since(_: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, record: Any, _: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since <= IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except dead as exc:
            raise sa.exc.DisconnectionError("a pooled connection was dead after sitting idle") from exc
