"""Migration 0022_rich_channels creates exactly the tables and indexes gateway/rich/models.py describes."""

from __future__ import annotations

from gateway.rich.models import CardAccount, CardTemplateRecord, Chatbot, RichEvent
from tests.schema import migrated_schema, model_indexes

TABLES = (
    Chatbot.__table__,  # type: ignore[attr-defined]
    CardAccount.__table__,  # type: ignore[attr-defined]
    CardTemplateRecord.__table__,  # type: ignore[attr-defined]
    RichEvent.__table__,  # type: ignore[attr-defined]
)


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """After upgrading to heads, autogenerate finds no difference in the four rich-channel tables,
    their indexes are the models' by name and columns, a botId is unique per operator, an appId per
    vendor, and an event per dedupe key."""
    schema = await migrated_schema(database_url, [table.name for table in TABLES])

    assert schema.diffs == []
    assert schema.indexes == model_indexes(TABLES)
    assert schema.unique["rich_chatbots"] == [("operator", "bot_id")]
    assert schema.unique["rich_card_accounts"] == [("vendor", "app_id")]
    assert schema.unique["rich_events"] == [("dedupe_key",)]
