"""Migration 0015_staff creates exactly the tables and indexes gateway/staff/models.py describes."""

from __future__ import annotations

from gateway.staff.models import AuditRecord, StaffAccount
from tests.schema import migrated_schema, model_indexes

TABLES = (StaffAccount.__table__, AuditRecord.__table__)  # type: ignore[attr-defined]


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """After upgrading to heads, autogenerate finds no difference in the two staff tables, their
    indexes are the models' by name and columns, and usernames are unique."""
    schema = await migrated_schema(database_url, [table.name for table in TABLES])

    assert schema.diffs == []
    assert schema.indexes == model_indexes(TABLES)
    assert schema.unique["staff_members"] == [("username",)]
