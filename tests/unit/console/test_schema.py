"""Migration 0016_console_sessions creates exactly the table and indexes gateway/console/models.py
describes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.console.models import ConsoleSession
from gateway.db import create_engine, migrate
from gateway.models import metadata

TABLE = ConsoleSession.__tablename__


def _ours(diff: Any) -> bool:
    return f"'{TABLE}'" in repr(diff) or f"{TABLE}." in repr(diff)


async def test_migrated_schema_matches_the_model(database_url: str) -> None:
    """After upgrading to heads, autogenerate finds no difference in console_sessions, and its
    indexes (by member, by idle end) are the model's by name and columns."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            diffs = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
            indexes = await conn.run_sync(
                lambda sync: {
                    i["name"]: tuple(i["column_names"]) for i in sa.inspect(sync).get_indexes(TABLE)
                }
            )
    finally:
        await engine.dispose()

    assert [d for d in diffs if _ours(d)] == []
    table: sa.Table = ConsoleSession.__table__  # type: ignore[attr-defined]
    assert indexes == {index.name: tuple(c.name for c in index.columns) for index in table.indexes}
    assert indexes == {
        "ix_console_sessions_staff_id": ("staff_id",),
        "ix_console_sessions_idle_expires_at": ("idle_expires_at",),
    }
