"""Migration 0013_verify creates exactly the tables and indexes gateway/verify/models.py describes."""

from __future__ import annotations

from gateway.verify.models import PrefixBlock, VerifyRequest
from tests.schema import migrated_schema, model_indexes

TABLES = (VerifyRequest.__table__, PrefixBlock.__table__)  # type: ignore[attr-defined]


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """After upgrading to heads, autogenerate finds no difference in the two verification tables,
    and their indexes are the models' by name and columns."""
    schema = await migrated_schema(database_url, [table.name for table in TABLES])

    assert schema.diffs == []
    assert schema.indexes == model_indexes(TABLES)
