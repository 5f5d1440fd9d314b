"""Migration 0018_staff_sso creates exactly the tables and indexes gateway/console/sso_models.py
describes, and the staff accounts' link to their identity-provider subject."""

from __future__ import annotations

from gateway.console.sso_models import SsoState, TenantSso
from gateway.staff.models import StaffAccount
from tests.schema import migrated_schema, model_indexes

TABLES = (TenantSso.__table__, SsoState.__table__)  # type: ignore[attr-defined]


async def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """After upgrading to heads, autogenerate finds no difference in the two SSO tables or the staff
    table, their indexes are the models' by name and columns, and a subject is unique per tenant."""
    staff = StaffAccount.__table__  # type: ignore[attr-defined]
    schema = await migrated_schema(database_url, [table.name for table in (*TABLES, staff)])

    assert schema.diffs == []
    assert schema.indexes == model_indexes((*TABLES, staff))
    assert schema.indexes["staff_members"]["ix_staff_members_sso"] == ("tenant_id", "sso_subject")
