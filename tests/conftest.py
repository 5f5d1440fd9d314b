"""Suite-wide fixtures: every test's log output is checked for phone numbers and secrets, and the
database fixture runs each database-backed test on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import io
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from gateway.logs import configure_logging
from tests.leaks import find_leaks

LOG_SINK = io.StringIO()
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def pytest_configure(config: pytest.Config) -> None:
    """Route every log line of the suite, through the production processors, into one sink."""
    configure_logging("debug", "json", LOG_SINK)


@pytest.fixture(autouse=True)
def _logs_hold_no_secrets() -> Iterator[None]:
    """Fail the test if its log lines contain a full phone number, token or secret."""
    start = len(LOG_SINK.getvalue())
    yield
    leaks = find_leaks(LOG_SINK.getvalue()[start:])
    assert not leaks, f"log lines leak sensitive values: {leaks}"


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _scratch_database() -> Iterator[str]:
    name = f"gw_test_{os.getpid()}_{secrets.token_hex(3)}"
    asyncio.run(_pg(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(_pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (keys: tests/stack.py), dropped at the end."""
    yield from _scratch_database()


@pytest.fixture(scope="module")
def module_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one module whose long-lived gateway runs background workers,
    so the rows it leaves are not claimed by other modules' workers; dropped after the module."""
    yield from _scratch_database()


@pytest.fixture
def own_postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test that brings its own data keys, dropped after it."""
    yield from _scratch_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def own_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of this test's own, on both engines: for tests whose workers claim across tenants,
    so rows left by earlier tests on a shared database would change what they see."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/gateway.db"
    url: str = request.getfixturevalue("own_postgres_url")
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test runs once on SQLite (a fresh file) and once on PostgreSQL (the session database)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/gateway.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database, for tests where the engine does not matter."""
    return f"sqlite:///{tmp_path}/gateway.db"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis (database 15); tests isolate themselves with random key prefixes."""
    return REDIS_URL
