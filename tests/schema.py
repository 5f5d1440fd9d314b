"""What a migrated database holds of some tables, to compare with their models (each feature's
schema test): alembic's autogenerate differences naming those tables, their indexes and their
unique constraints."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from gateway.db import create_engine, migrate
from gateway.models import metadata

__all__ = ["MigratedSchema", "migrated_schema", "model_indexes"]

Indexes = dict[str, dict[str, tuple[str, ...]]]


@dataclass(frozen=True)
class MigratedSchema:
    """``diffs`` that name one of the tables; per table its indexes (name -> columns, the indexes
    that back a unique constraint left out) and its unique constraints' columns."""

    diffs: list[Any]
    indexes: Indexes
    unique: dict[str, list[tuple[str, ...]]]


def _names_one_of(diff: Any, tables: Collection[str]) -> bool:
    text = repr(diff)
    return any(f"'{t}'" in text or f"{t}." in text or f"<{t}>" in text for t in tables)


def _read(tables: Collection[str], sync: Connection) -> MigratedSchema:
    inspector = sa.inspect(sync)
    diffs = compare_metadata(MigrationContext.configure(sync), metadata)
    return MigratedSchema(
        diffs=[d for d in diffs if _names_one_of(d, tables)],
        indexes={
            table: {
                i["name"]: tuple(str(c) for c in i["column_names"])
                for i in inspector.get_indexes(table)
                if "duplicates_constraint" not in i and i["name"] is not None
            }
            for table in tables
        },
        unique={
            table: [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
            for table in tables
        },
    )


async def migrated_schema(database_url: str, tables: Collection[str]) -> MigratedSchema:
    """Migrate a database at ``database_url`` to heads and read ``tables`` back."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: _read(tables, sync))
    finally:
        await engine.dispose()


def model_indexes(tables: Iterable[sa.Table]) -> Indexes:
    """The models' indexes in :attr:`MigratedSchema.indexes`' shape."""
    return {
        table.name: {str(index.name): tuple(c.name for c in index.columns) for index in table.indexes}
        for table in tables
    }
