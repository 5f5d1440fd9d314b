"""Migration 0002_authorization creates exactly the tables the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.db import create_engine, migrate
from gateway.models import metadata
from gateway.oauth import models

TABLES = {
    models.PendingAuthorization.__tablename__,
    models.AuthorizationCode.__tablename__,
    models.BackchannelRequest.__tablename__,
    models.RevokedToken.__tablename__,
}


def _mentions(diff: Any) -> str:
    return repr(diff)


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """After upgrading to heads, autogenerate finds no difference for the authorization tables."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            diffs = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    ours = [
        d
        for d in diffs
        if any(f"'{table}'" in _mentions(d) or f"{table}." in _mentions(d) for table in TABLES)
    ]
    assert ours == []
