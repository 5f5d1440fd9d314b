"""The console's table: staff sign-in sessions, stored by the SHA-256 of their cookie value."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["ConsoleSession", "csrf_aad"]


class ConsoleSession(SQLModel, table=True):
    """One signed-in browser of a staff member.

    ``csrf_cipher`` is the session's CSRF token, AES-GCM encrypted (:func:`csrf_aad`);
    ``idle_expires_at`` moves with activity but never past ``expires_at``. ``staff_id`` names the
    member without a foreign key (the staff table is another feature's).
    """

    __tablename__ = "console_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    staff_id: str = Field(max_length=40, index=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    csrf_cipher: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    last_seen_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    idle_expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


def csrf_aad(tenant_id: str, token_hash: str) -> str:
    """AAD of ``console_sessions.csrf_cipher``."""
    return f"console_sessions|csrf|{tenant_id}|{token_hash}"
