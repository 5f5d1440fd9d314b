"""Verification tables: requests with their workflow state, and the pumping guard's prefix blocks.

The number is AES-GCM encrypted (AAD ``verify_requests|phone|<tenant>|<id>``) and found by the
tenant's phone blind index; ``prefix_index`` blind-indexes the number's prefix for the pumping
guard. The code is kept only as a keyed hash (``code_index``), the network step's ``state`` only
as its SHA-256 (``handle_hash``). ``workflow`` and ``outcomes`` are JSON lists, one entry per step.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["PrefixBlock", "VerifyRequest", "phone_aad"]


def phone_aad(tenant_id: str, request_id: str) -> str:
    """The AAD of a request's encrypted number."""
    return f"verify_requests|phone|{tenant_id}|{request_id}"


class VerifyRequest(SQLModel, table=True):
    """One verification request and where its workflow stands (:mod:`gateway.verify.workflow`)."""

    __tablename__ = "verify_requests"
    __table_args__ = (
        sa.Index("ix_verify_requests_due", "status", "deadline"),
        sa.Index("ix_verify_requests_phone", "tenant_id", "phone_index", "status"),
        sa.Index(
            "uq_verify_requests_pending",
            "tenant_id",
            "phone_index",
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        ),
        sa.Index("ix_verify_requests_prefix", "tenant_id", "prefix_index", "created_at"),
        sa.Index("ix_verify_requests_tenant_created", "tenant_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    phone_index: str = Field(max_length=64)
    prefix_index: str = Field(max_length=64)
    phone_cipher: str = Field(sa_type=sa.Text)
    status: str = Field(max_length=16)
    workflow: str = Field(sa_type=sa.Text)
    outcomes: str = Field(sa_type=sa.Text)
    current: int = 0
    deadline: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    code_length: int
    locale: str = Field(max_length=35)
    channel_timeout: int
    client_reference: str | None = Field(default=None, max_length=64)
    code_index: str | None = Field(default=None, max_length=64)
    sends: int = 0
    wrong_codes: int = 0
    verified_by_code: bool = False
    operator: str | None = Field(default=None, max_length=8)
    handle_hash: str | None = Field(default=None, max_length=64, index=True)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class PrefixBlock(SQLModel, table=True):
    """A number prefix the pumping guard closed to verification codes until ``until``."""

    __tablename__ = "verify_prefix_blocks"

    tenant_id: str = Field(foreign_key="tenants.id", max_length=40, primary_key=True)
    prefix_index: str = Field(max_length=64, primary_key=True)
    until: datetime = Field(sa_type=sa.DateTime(timezone=True))
    opened_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    codes_sent: int
    verified: int
