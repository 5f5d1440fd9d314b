"""Migration 0008_flows creates exactly the tables (and the push column) the models describe."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import gateway.flows.models as flow_models
import gateway.push.models as push_models
from gateway.db import create_engine, migrate
from gateway.models import metadata

TABLES = {
    flow_models.FlowState.__tablename__,
    flow_models.FlowSession.__tablename__,
    flow_models.Branch.__tablename__,
    flow_models.BranchTicket.__tablename__,
}


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """After upgrading to heads, autogenerate finds no difference for the flows' tables nor for
    push_messages.params_cipher."""
    assert push_models.PushMessage.__tablename__ == "push_messages"
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
        text = repr(diff)
        return any(f"'{t}'" in text or f"{t}." in text for t in TABLES) or "params_cipher" in text

    assert [d for d in diffs if ours(d)] == []
