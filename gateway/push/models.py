"""Push tables: messages, their parts on the wire, event history, short links, idempotency records,
opt-outs, and reports that arrived before their submission was stored.

Personal data is stored AES-GCM encrypted with AAD ``<table>|<column>|<tenant>|<row id>`` and found by
the tenant-scoped blind index of :func:`~gateway.one_tap.service.phone_scope`. Template and link
rows of other features are referenced by id only (no foreign keys across features).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "EarlyReport",
    "IdempotencyRecord",
    "MessageEvent",
    "MessagePart",
    "OptOut",
    "PushLink",
    "PushMessage",
    "SmsPolicyRow",
    "SmsUsage",
    "params_aad",
    "recipient_aad",
    "recipient_last4_scope",
    "text_aad",
]


class PushMessage(SQLModel, table=True):
    """One SMS to one recipient and its delivery state (see :mod:`gateway.push.states`).

    ``scheduled_at`` is when it may first be sent (quiet hours), ``next_attempt_at`` when it may be
    tried next (backoff); ``lease_owner``/``lease_until`` mark the dispatch worker holding it.
    ``recipient_last4_index`` blind-indexes the number's last four digits
    (:func:`recipient_last4_scope`) for the dashboard's search; messages stored before revision
    0017 have none.
    """

    __tablename__ = "push_messages"
    __table_args__ = (
        sa.Index("ix_push_messages_due", "status", "next_attempt_at"),
        sa.Index("ix_push_messages_recipient", "tenant_id", "recipient_index"),
        sa.Index("ix_push_messages_tenant_created", "tenant_id", "created_at"),
        sa.Index("ix_push_messages_last4", "tenant_id", "recipient_last4_index", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    template_id: str = Field(max_length=40)
    category: str = Field(max_length=16)
    signature: str = Field(max_length=16)
    recipient_index: str = Field(max_length=64)
    recipient_last4_index: str | None = Field(default=None, max_length=64)
    recipient_cipher: str = Field(sa_type=sa.Text)
    text_cipher: str = Field(sa_type=sa.Text)
    params_cipher: str | None = Field(default=None, sa_type=sa.Text)
    segments: int
    encoding: str = Field(max_length=8)
    operator: str | None = Field(default=None, max_length=8)
    status: str = Field(max_length=16)
    attempts: int = 0
    provider_message_id: str | None = Field(default=None, max_length=128)
    failure_reason: str | None = Field(default=None, max_length=64)
    lease_owner: str | None = Field(default=None, max_length=64)
    lease_until: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    scheduled_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    next_attempt_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class MessageEvent(SQLModel, table=True):
    """One step in a message's history; ``dedupe_key`` makes a repeated delivery report a no-op.

    The unique index on (``message_id``, ``dedupe_key``) also serves reads by message.

    ``state`` is set on ``report`` events (the report's :class:`~carrier_adapters.DeliveryState`),
    ``detail`` holds the operator's status word or a failure reason, never personal data.
    """

    __tablename__ = "push_message_events"
    __table_args__ = (sa.UniqueConstraint("message_id", "dedupe_key", name="uq_push_message_events_dedupe"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(foreign_key="push_messages.id", max_length=40)
    type: str = Field(max_length=32)
    at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    state: str | None = Field(default=None, max_length=16)
    detail: str | None = Field(default=None, max_length=64)
    dedupe_key: str | None = Field(default=None, max_length=200)


class MessagePart(SQLModel, table=True):
    """One part of a submitted message as the operator named it (its id is what reports carry).

    ``state`` is empty until the part's final report (:class:`~carrier_adapters.DeliveryState`);
    ``detail`` keeps the operator's status word. A message whose parts all have a state is settled.
    """

    __tablename__ = "push_message_parts"
    __table_args__ = (sa.Index("ix_push_message_parts_provider", "provider_id", "operator"),)

    message_id: str = Field(foreign_key="push_messages.id", max_length=40, primary_key=True)
    seq: int = Field(primary_key=True)
    operator: str = Field(max_length=8)
    provider_id: str = Field(max_length=64)
    state: str | None = Field(default=None, max_length=16)
    detail: str | None = Field(default=None, max_length=64)
    reported_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class EarlyReport(SQLModel, table=True):
    """A report naming a part no stored submission holds yet; applied when that submission is stored."""

    __tablename__ = "push_early_reports"
    __table_args__ = (sa.Index("ix_push_early_reports_provider", "provider_id", "operator"),)

    id: int | None = Field(default=None, primary_key=True)
    operator: str = Field(max_length=8)
    provider_id: str = Field(max_length=64)
    state: str = Field(max_length=16)
    detail: str | None = Field(default=None, max_length=64)
    reported_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    received_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


class PushLink(SQLModel, table=True):
    """The short link ``{PUBLIC_URL}/l/{code}`` carried by one message (redemption is the links feature's)."""

    __tablename__ = "push_links"

    code: str = Field(primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    message_id: str = Field(foreign_key="push_messages.id", max_length=40, sa_column_kwargs={"unique": True})
    template_id: str = Field(max_length=40)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to ``(tenant, Idempotency-Key)``, replayed for that request until ``expires_at``."""

    __tablename__ = "push_idempotency_keys"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    key: str = Field(primary_key=True, max_length=255)
    request_hash: str = Field(max_length=64)
    message_id: str = Field(max_length=40)
    status_code: int
    response: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


class OptOut(SQLModel, table=True):
    """A number that replied T/TD/R: no more marketing SMS of this tenant's ``signature`` to it."""

    __tablename__ = "push_opt_outs"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    signature: str = Field(primary_key=True, max_length=16)
    phone_index: str = Field(primary_key=True, max_length=64)
    operator: str = Field(max_length=8)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


def recipient_aad(tenant_id: str, message_id: str) -> str:
    """AAD of ``push_messages.recipient_cipher``."""
    return f"push_messages|recipient|{tenant_id}|{message_id}"


def recipient_last4_scope(tenant_id: str) -> str:
    """The blind-index scope of the last four digits of a tenant's recipients (ten thousand values:
    the index finds a tenant's messages, it does not hide the digits from the index key's holder)."""
    return f"last4|{tenant_id}"


def text_aad(tenant_id: str, message_id: str) -> str:
    """AAD of ``push_messages.text_cipher`` (the SMS as sent: it may carry personal data)."""
    return f"push_messages|text|{tenant_id}|{message_id}"


def params_aad(tenant_id: str, message_id: str) -> str:
    """AAD of ``push_messages.params_cipher`` (the send's ``params`` as JSON, for the link's flow)."""
    return f"push_messages|params|{tenant_id}|{message_id}"


class SmsPolicyRow(SQLModel, table=True):
    """A tenant's SMS limits, set by the gateway's operator (:class:`gateway.push.guard.SmsPolicy`)."""

    __tablename__ = "push_sms_policies"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    number_per_10min: int
    number_per_day: int
    prefix_per_10min: int
    prefix_per_day: int
    daily_budget: int
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class SmsUsage(SQLModel, table=True):
    """SMS a tenant had accepted on one budget day (``YYYY-MM-DD``): messages and their segments."""

    __tablename__ = "push_sms_usage"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    day: str = Field(primary_key=True, max_length=10)
    messages: int
    segments: int
