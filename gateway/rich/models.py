"""Rich-channel tables: a tenant's 5G chatbots and card-SMS accounts, its card templates, and the
events the platforms POST back.

Secrets are AES-GCM encrypted with AAD :func:`secret_aad` (bound to the tenant and the row's natural
key). A chatbot is unique per ``(operator, bot_id)`` and an account per ``(vendor, app_id)`` across
tenants, which is how a callback finds the tenant it belongs to. ``rich_events`` rows are unique by
``dedupe_key`` (a SHA-256 of what makes an event itself), so replays store nothing new.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["CardAccount", "CardTemplateRecord", "Chatbot", "RichEvent", "secret_aad"]


class Chatbot(SQLModel, table=True):
    """A tenant's chatbot at one operator's MaaP platform (5G messages)."""

    __tablename__ = "rich_chatbots"
    __table_args__ = (sa.UniqueConstraint("operator", "bot_id", name="uq_rich_chatbots_bot"),)

    tenant_id: str = Field(foreign_key="tenants.id", max_length=40, primary_key=True)
    operator: str = Field(max_length=8, primary_key=True)
    bot_id: str = Field(max_length=64)
    secret_cipher: str = Field(sa_type=sa.Text)
    enabled: bool
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class CardAccount(SQLModel, table=True):
    """A tenant's account at one handset vendor's card-SMS platform."""

    __tablename__ = "rich_card_accounts"
    __table_args__ = (sa.UniqueConstraint("vendor", "app_id", name="uq_rich_card_accounts_app"),)

    tenant_id: str = Field(foreign_key="tenants.id", max_length=40, primary_key=True)
    vendor: str = Field(max_length=16, primary_key=True)
    app_id: str = Field(max_length=64)
    secret_cipher: str = Field(sa_type=sa.Text)
    enabled: bool
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class CardTemplateRecord(SQLModel, table=True):
    """A card template registered at a vendor: its fields as JSON (``spec``), the vendor's id, and the
    review state last seen (``pending``, ``approved``, ``rejected`` with ``reason``)."""

    __tablename__ = "rich_card_templates"
    __table_args__ = (sa.Index("ix_rich_card_templates_tenant", "tenant_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    vendor: str = Field(max_length=16)
    app_id: str = Field(max_length=64)
    vendor_template_id: str = Field(max_length=64)
    name: str = Field(max_length=64)
    spec: str = Field(sa_type=sa.Text)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    checked_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    decided_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class RichEvent(SQLModel, table=True):
    """One verified event of a 5G message (``channel`` ``5g``, ``provider`` the operator) or a card SMS
    (``card``, the vendor) about the message we sent under ``message_ref`` (our ``msgId``/``bizId``).

    ``kind`` is ``sent``, ``delivered``, ``displayed``, ``failed``, ``response`` (5G), ``rendered``,
    ``failed``, ``clicked`` (card); ``at`` is the platform's time, ``detail`` JSON (a response's
    text and postback, a card's ``cardMsgId`` and tapped button)."""

    __tablename__ = "rich_events"
    __table_args__ = (
        sa.UniqueConstraint("dedupe_key", name="uq_rich_events_dedupe"),
        sa.Index("ix_rich_events_ref", "message_ref", "id"),
        sa.Index("ix_rich_events_tenant", "tenant_id", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    channel: str = Field(max_length=8)
    provider: str = Field(max_length=16)
    account: str = Field(max_length=64)
    message_ref: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    detail: str | None = Field(default=None, sa_type=sa.Text)
    dedupe_key: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


def secret_aad(table: str, tenant_id: str, where: str, account: str) -> str:
    """AAD of a stored secret: the table, the tenant, the operator or vendor, and the bot or app id."""
    return f"{table}|secret|{tenant_id}|{where}|{account}"
