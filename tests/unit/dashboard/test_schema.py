"""Migration 0017_dashboard creates exactly the rollup tables, the last-four-digits column and the
indexes the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from gateway.dashboard import models
from gateway.one_tap.models import UsageRecord
from gateway.push.models import PushMessage
from gateway.verify.models import VerifyRequest
from gateway.webhooks.models import WebhookDelivery
from tests.schema import migrated_schema

TABLES = {
    models.MessageDay.__tablename__,
    models.LatencyDay.__tablename__,
    models.FailureDay.__tablename__,
    models.UsageDay.__tablename__,
    models.VerifyDay.__tablename__,
    models.QueueDay.__tablename__,
    models.Refresh.__tablename__,
    PushMessage.__tablename__,
    UsageRecord.__tablename__,
    VerifyRequest.__tablename__,
    WebhookDelivery.__tablename__,
}


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """After upgrading to heads, autogenerate finds no difference in these tables."""
    assert (await migrated_schema(database_url, TABLES)).diffs == []
