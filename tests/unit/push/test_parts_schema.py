"""Migration 0009_message_parts creates exactly the part and early-report tables the models describe
and drops the event index the model no longer has."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.db import create_engine, migrate
from gateway.models import metadata
from gateway.push.models import EarlyReport, MessageEvent, MessagePart

TABLES = {MessagePart.__tablename__, EarlyReport.__tablename__, MessageEvent.__tablename__}


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """After upgrading to heads, autogenerate finds no difference in the two tables."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            diffs = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()

    def ours(diff: Any) -> bool:
        return any(f"'{table}'" in repr(diff) or f"{table}." in repr(diff) for table in TABLES)

    assert [d for d in diffs if ours(d)] == []
