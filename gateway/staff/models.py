"""Staff tables: the accounts (``staff_members``) and the audit log of their actions (``staff_audit``).

A member's TOTP secret is AES-GCM encrypted with AAD ``staff_members|totp_secret|<tenant>|<id>``;
the password is an argon2id hash (:mod:`gateway.staff.passwords`). ``branches`` is a JSON list of
branch ids of the tenant (referenced by id only, no foreign key across features); ``detail`` of an
audit entry is a JSON object of ids and counts.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["AuditRecord", "StaffAccount", "totp_secret_aad"]


class StaffAccount(SQLModel, table=True):
    """One staff account. ``username`` is stored lower-case and unique across the gateway.

    ``totp_secret_cipher`` is set from the start of an enrolment; ``totp_enabled`` only once a code
    confirmed it. ``totp_last_step`` is the time step of the last accepted code: a code of that step
    or an earlier one is refused (no replay within its window). ``sso_subject`` is the ``sub`` of
    the member at the tenant's identity provider (single sign-on), unique within the tenant.
    """

    __tablename__ = "staff_members"
    __table_args__ = (sa.Index("ix_staff_members_sso", "tenant_id", "sso_subject", unique=True),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40, index=True)
    username: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    password_hash: str = Field(max_length=255)
    role: str = Field(max_length=16)
    branches: str = Field(sa_type=sa.Text)
    totp_secret_cipher: str | None = Field(default=None, sa_type=sa.Text)
    totp_enabled: bool = False
    totp_last_step: int | None = Field(default=None, sa_type=sa.BigInteger)
    disabled: bool = False
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    password_changed_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    sso_subject: str | None = Field(default=None, max_length=255)


class AuditRecord(SQLModel, table=True):
    """One audit entry; ``staff_id``/``username`` are the actor (None: the admin API or the CLI)."""

    __tablename__ = "staff_audit"
    __table_args__ = (sa.Index("ix_staff_audit_tenant", "tenant_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    staff_id: str | None = Field(default=None, max_length=40)
    username: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=64)
    target: str | None = Field(default=None, max_length=200)
    detail: str = Field(sa_type=sa.Text)
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))


def totp_secret_aad(tenant_id: str, staff_id: str) -> str:
    """AAD of ``staff_members.totp_secret_cipher``."""
    return f"staff_members|totp_secret|{tenant_id}|{staff_id}"
