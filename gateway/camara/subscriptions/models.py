"""The ``sim_swap_subscriptions`` table (revision 0007).

Personal data and credentials are AES-GCM encrypted with AAD
``sim_swap_subscriptions|<column>|<tenant>|<id>``: the phone number (``phone_cipher``, found by the
tenant-scoped blind index of :func:`~gateway.one_tap.service.phone_scope` in ``phone_index``), the
sink's bearer token (``sink_token_cipher``) and the Standard Webhooks signing secret
(``secret_cipher``). ``last_seen_change`` is the latest SIM change the gateway has seen for the
line; ``next_poll_at`` and ``lease_owner``/``lease_expires_at`` schedule and guard the poller.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["SimSwapSubscription", "aad"]

_TABLE = "sim_swap_subscriptions"


def aad(column: str, tenant_id: str, subscription_id: str) -> str:
    """The associated data binding an encrypted column to its row."""
    return f"{_TABLE}|{column}|{tenant_id}|{subscription_id}"


class SimSwapSubscription(SQLModel, table=True):
    """One subscription to ``swapped`` events of one line (see :mod:`gateway.camara.subscriptions`)."""

    __tablename__ = _TABLE
    __table_args__ = (
        sa.Index("ix_sim_swap_subscriptions_due", "status", "next_poll_at"),
        sa.Index("ix_sim_swap_subscriptions_client", "tenant_id", "client_id", "phone_index"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    client_id: str = Field(max_length=64)
    three_legged: bool
    phone_index: str = Field(max_length=64)
    phone_cipher: str = Field(sa_type=sa.Text)
    operator: str = Field(max_length=8)
    sink: str = Field(sa_type=sa.Text)
    sink_token_cipher: str | None = Field(default=None, sa_type=sa.Text)
    sink_token_expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    secret_cipher: str = Field(sa_type=sa.Text)
    event_type: str = Field(max_length=64)
    max_events: int | None = None
    events_sent: int = 0
    status: str = Field(max_length=16)
    termination_reason: str | None = Field(default=None, max_length=32)
    starts_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_seen_change: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    next_poll_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    ended_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    deleted_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
