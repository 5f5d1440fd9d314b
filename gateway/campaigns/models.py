"""Campaign tables: a campaign (its template, rate, state and the runner's lease) and its recipients.

A recipient's number and parameters are stored together as one AES-GCM ciphertext (JSON
``{"to", "params"}``, AAD :func:`recipient_aad`) and found by the campaign-scoped blind index of the
number (:func:`recipient_scope`), which makes a number unique within its campaign without storing it
in the clear. ``seq`` numbers a campaign's recipients from 1 in the order they were accepted; the
runner sends them in that order. ``message_id`` is the push message a recipient became (no foreign
key: the push tables belong to another feature).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "Campaign",
    "CampaignRecipient",
    "idempotency_key",
    "key_prefix",
    "recipient_aad",
    "recipient_scope",
]


class Campaign(SQLModel, table=True):
    """One campaign (:mod:`gateway.campaigns.states`); ``recipients`` counts those accepted, and is the
    ``seq`` of the last one. ``next_run_at`` is when the runner may take it next (``scheduledAt``, a
    spent daily budget); ``lease_owner``/``lease_until`` mark the runner holding it; ``progress_at``
    is when the last ``campaign.progress`` webhook was queued."""

    __tablename__ = "campaigns"
    __table_args__ = (
        sa.Index("ix_campaigns_due", "status", "next_run_at"),
        sa.Index("ix_campaigns_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    template_id: str = Field(max_length=40)
    name: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=16)
    rate: int
    channels: str | None = Field(default=None, sa_type=sa.Text)
    recipients: int = 0
    scheduled_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    next_run_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    progress_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    started_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    ended_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class CampaignRecipient(SQLModel, table=True):
    """One accepted recipient: ``pending`` until the runner takes it (``sending``), then ``sent``
    (``message_id`` set), ``refused`` (``reason``: the error code single messages would answer) or
    ``cancelled``."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "phone_index", name="uq_campaign_recipients_phone"),
        sa.Index("ix_campaign_recipients_state", "campaign_id", "state", "seq"),
    )

    campaign_id: str = Field(foreign_key="campaigns.id", max_length=40, primary_key=True)
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    phone_index: str = Field(max_length=64)
    recipient_cipher: str = Field(sa_type=sa.Text)
    state: str = Field(max_length=16)
    message_id: str | None = Field(default=None, max_length=40)
    reason: str | None = Field(default=None, max_length=64)


def recipient_aad(tenant_id: str, campaign_id: str, phone_index: str) -> str:
    """AAD of ``campaign_recipients.recipient_cipher``: bound to the row by its unique
    (campaign, number index), which is known before the row's ``seq`` is."""
    return f"campaign_recipients|recipient|{tenant_id}|{campaign_id}|{phone_index}"


def recipient_scope(tenant_id: str, campaign_id: str) -> str:
    """Blind-index scope of a campaign's numbers (duplicates are found within the campaign only)."""
    return f"campaign|{tenant_id}|{campaign_id}"


def key_prefix(campaign_id: str) -> str:
    """What every push ``Idempotency-Key`` of the campaign's recipients starts with."""
    return f"campaign:{campaign_id}:"


def idempotency_key(campaign_id: str, seq: int) -> str:
    """The push ``Idempotency-Key`` a recipient is sent with: the same on every attempt."""
    return f"{key_prefix(campaign_id)}{seq}"
