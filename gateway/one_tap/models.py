"""Usage records: one row per answered one-tap exchange, for per-tenant billing reconciliation."""

from __future__ import annotations

from datetime import datetime
from typing import TypedDict

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["UsageRecord", "UsageRow"]


class UsageRecord(SQLModel, table=True):
    """A billed (or explicitly unbilled) operator call; the number is encrypted and blind-indexed."""

    __tablename__ = "usage_records"
    __table_args__ = (sa.Index("ix_usage_records_tenant_created", "tenant_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", index=True, max_length=40)
    capability: str = Field(max_length=40)
    operator: str = Field(max_length=8)
    billed: bool
    result: str = Field(max_length=16)
    provider_ref: str = Field(max_length=128)
    phone_index: str = Field(index=True, max_length=64)
    phone_cipher: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


class UsageRow(TypedDict):
    """The column values of one ``usage_records`` row, as the ledger writes it.

    The hot path builds rows as plain dicts: constructing the ``UsageRecord`` model costs about
    5% of a one-tap login's CPU, for validation that typed construction already gives.
    """

    id: str
    tenant_id: str
    capability: str
    operator: str
    billed: bool
    result: str
    provider_ref: str
    phone_index: str
    phone_cipher: str
    created_at: datetime
