"""One live gateway + sandbox per test module and database (SQLite and PostgreSQL), shared by the
module's scenarios, and the bank that calls it; each scenario seeds its own subscribers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.camara.client import Camara
from tests.stack import Stack, open_stack


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file, or a PostgreSQL database of the module's own."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('camara')}/gateway.db"
    url: str = request.getfixturevalue("module_postgres_url")
    return url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live(module_database_url: str) -> AsyncIterator[Stack]:
    """Gateway and sandbox on real sockets; the gateway's public URL is its real address, where the
    operators send the phone's browser back during a code flow."""
    async with open_stack(module_database_url, public=True) as stack:
        yield stack


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def camara(live: Stack) -> Camara:
    """A bank registered on the module's stack with every CAMARA scope."""
    return await Camara.register(live)
