"""Migration 0015_staff creates exactly the tables and indexes gateway/staff/models.py describes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from gateway.db import create_engine, migrate
from gateway.models import metadata
from gateway.staff.models import AuditRecord, StaffAccount

TABLES = {StaffAccount.__tablename__, AuditRecord.__tablename__}


def _ours(diff: Any) -> bool:
    return any(f"'{table}'" in repr(diff) or f"{table}." in repr(diff) for table in TABLES)


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """After upgrading to heads, autogenerate finds no difference in the two staff tables, their
    indexes are the models' by name and columns, and usernames are unique."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            diffs = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
            indexes = await conn.run_sync(
                lambda sync: {
                    table: {
                        i["name"]: tuple(i["column_names"])
                        for i in sa.inspect(sync).get_indexes(table)
                        if "duplicates_constraint" not in i
                    }
                    for table in TABLES
                }
            )
            unique = await conn.run_sync(
                lambda sync: [
                    tuple(u["column_names"]) for u in sa.inspect(sync).get_unique_constraints("staff_members")
                ]
            )
    finally:
        await engine.dispose()

    assert [d for d in diffs if _ours(d)] == []
    assert indexes == {
        table.name: {index.name: tuple(c.name for c in index.columns) for index in table.indexes}
        for table in (StaffAccount.__table__, AuditRecord.__table__)  # type: ignore[attr-defined]
    }
    assert unique == [("username",)]
