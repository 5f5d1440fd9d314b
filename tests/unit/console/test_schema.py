"""Migration 0016_console_sessions creates exactly the table and indexes gateway/console/models.py
describes."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.console.models import ConsoleSession
from tests.schema import migrated_schema, model_indexes

TABLE: sa.Table = ConsoleSession.__table__  # type: ignore[attr-defined]


async def test_migrated_schema_matches_the_model(database_url: str) -> None:
    """After upgrading to heads, autogenerate finds no difference in console_sessions, and its
    indexes (by member, by idle end) are the model's by name and columns."""
    schema = await migrated_schema(database_url, [TABLE.name])

    assert schema.diffs == []
    assert schema.indexes == model_indexes([TABLE])
    assert schema.indexes[TABLE.name] == {
        "ix_console_sessions_staff_id": ("staff_id",),
        "ix_console_sessions_idle_expires_at": ("idle_expires_at",),
    }
