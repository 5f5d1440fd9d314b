"""Webhook tables: one endpoint per tenant, the delivery outbox, and each delivery's attempt history.

- ``webhook_endpoints``: the tenant's URL, subscribed events (space-separated) and signing secret,
  AES-GCM encrypted with AAD ``webhook_endpoints|<column>|<tenant>|<generation>``. ``generation``
  changes at every ``PUT``, so a 410 answered by a replaced endpoint cannot disable its successor.
  ``previous_secret_cipher`` still signs until ``previous_secret_expires_at`` (rotation grace).
- ``webhook_deliveries``: the outbox. A row is ``pending`` until ``delivered`` or ``failed``; a
  worker owns it while ``lease_expires_at`` is in the future. ``payload`` holds the exact bytes
  sent (Standard Webhooks body), so the signature content is stable across retries.
- ``webhook_attempts``: one row per HTTP attempt (status code or error, time, duration).

A delivery with ``sink`` set (``<kind>:<key>``, added by revision 0007) goes to a feature's own
target instead of the tenant's endpoint (see :class:`~gateway.webhooks.service.SinkSource`); its
``payload`` is stored AES-GCM encrypted (AAD ``webhook_deliveries|payload|<tenant>|<id>``) because
such bodies may carry personal data (a CAMARA ``phoneNumber``).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["WebhookAttempt", "WebhookDelivery", "WebhookEndpoint"]


class WebhookEndpoint(SQLModel, table=True):
    """A tenant's webhook endpoint (at most one per tenant)."""

    __tablename__ = "webhook_endpoints"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    generation: str = Field(max_length=40)
    url: str = Field(sa_type=sa.Text)
    events: str = Field(sa_type=sa.Text)
    secret_cipher: str = Field(sa_type=sa.Text)
    previous_secret_cipher: str | None = Field(default=None, sa_type=sa.Text)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    status: str = Field(max_length=16)
    disabled_reason: str | None = Field(default=None, sa_type=sa.Text)
    disabled_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class WebhookDelivery(SQLModel, table=True):
    """One event for one tenant; its id is the ``webhook-id`` header."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        sa.Index("ix_webhook_deliveries_tenant", "tenant_id", "status"),
        sa.Index("ix_webhook_deliveries_tenant_created", "tenant_id", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    event_type: str = Field(max_length=64)
    payload: str = Field(sa_type=sa.Text)
    status: str = Field(max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    first_attempt_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_attempt_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    sink: str | None = Field(default=None, max_length=80)


class WebhookAttempt(SQLModel, table=True):
    """One HTTP attempt of a delivery: the answer's status code, or the error when there was none."""

    __tablename__ = "webhook_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="webhook_deliveries.id", max_length=40, index=True)
    number: int
    attempted_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    status_code: int | None = None
    error: str | None = Field(default=None, sa_type=sa.Text)
    duration_ms: int
