"""Integration fixtures: a live gateway + sandbox pair per test, on the parametrised database."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.stack import Stack, open_stack


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    """Gateway and sandbox on real sockets, on SQLite and on PostgreSQL."""
    async with open_stack(database_url) as running:
        yield running


@pytest.fixture
async def sqlite_stack(sqlite_url: str) -> AsyncIterator[Stack]:
    """Gateway and sandbox on real sockets, on SQLite only (engine-independent behaviour)."""
    async with open_stack(sqlite_url) as running:
        yield running
