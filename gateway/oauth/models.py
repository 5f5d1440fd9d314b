"""Signing-key table: ES256 keys for access and ID tokens, private halves encrypted at rest."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["SigningKey"]


class SigningKey(SQLModel, table=True):
    """One ES256 key; ``retired_at`` set once a newer key signs (published until tokens expire)."""

    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    private_key: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    retired_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
