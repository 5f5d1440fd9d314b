"""Tables of the links-and-flows feature: flow states, flow sessions, branches and queue tickets.

Push rows (messages, links) are referenced by id only (no foreign keys across features). A flow
state is unique per message, so concurrent first redemptions by the holder settle on one row.
Personal data is AES-GCM encrypted with AAD ``<table>|<column>|<tenant>|<row id>``: the shared
location (``flow_states.location_cipher``) and a ticket holder's number
(``branch_tickets.phone_cipher``, also blind-indexed per tenant).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["Branch", "BranchTicket", "FlowSession", "FlowState", "location_aad", "ticket_phone_aad"]


class FlowState(SQLModel, table=True):
    """The state of one link's flow, created by the holder's first successful redemption.

    ``status``: ``consent_pending`` / ``declined`` / ``shared`` (claim location) or ``active``
    (branch queue, whose progress is the ticket's). ``holder_index`` is the blind index of the
    number the operator confirmed; ``channel`` how it was first opened (``h5`` or ``quick_app``).
    """

    __tablename__ = "flow_states"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    message_id: str = Field(max_length=40, sa_column_kwargs={"unique": True})
    link_code: str = Field(max_length=32)
    flow: str = Field(max_length=32)
    status: str = Field(max_length=24)
    holder_index: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    opened_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    consented_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    declined_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    completed_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    location_cipher: str | None = Field(default=None, sa_type=sa.Text)


class FlowSession(SQLModel, table=True):
    """A short-lived flow session: only the SHA-256 of the bearer value is stored."""

    __tablename__ = "flow_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    state_id: str = Field(foreign_key="flow_states.id", max_length=40, index=True)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    message_id: str = Field(max_length=40)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


class Branch(SQLModel, table=True):
    """A tenant's branch: its ticket SMS template and the template of the call SMS."""

    __tablename__ = "branches"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40, index=True)
    name: str = Field(max_length=64)
    template_id: str = Field(max_length=40)
    call_template_id: str = Field(max_length=40)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class BranchTicket(SQLModel, table=True):
    """A queue ticket: ``label`` (e.g. ``A007``) is the ``seq``-th of the branch's ``service_day``.

    ``status``: ``waiting`` -> ``called`` (with ``counter``) or ``cancelled``. ``message_id`` is the
    ticket SMS, ``call_message_id`` the call SMS; both links lead to this ticket.
    """

    __tablename__ = "branch_tickets"
    __table_args__ = (
        sa.UniqueConstraint("branch_id", "service_day", "seq", name="uq_branch_tickets_seq"),
        sa.Index("ix_branch_tickets_queue", "branch_id", "status"),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    branch_id: str = Field(foreign_key="branches.id", max_length=40)
    service_day: str = Field(max_length=10)
    seq: int
    label: str = Field(max_length=16)
    service: str | None = Field(default=None, max_length=32)
    phone_index: str = Field(max_length=64)
    phone_cipher: str = Field(sa_type=sa.Text)
    status: str = Field(max_length=16)
    counter: str | None = Field(default=None, max_length=8)
    message_id: str | None = Field(default=None, max_length=40, sa_column_kwargs={"unique": True})
    call_message_id: str | None = Field(default=None, max_length=40, sa_column_kwargs={"unique": True})
    issued_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    called_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    cancelled_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


def location_aad(tenant_id: str, state_id: str) -> str:
    """AAD of ``flow_states.location_cipher``."""
    return f"flow_states|location|{tenant_id}|{state_id}"


def ticket_phone_aad(tenant_id: str, ticket_id: str) -> str:
    """AAD of ``branch_tickets.phone_cipher``."""
    return f"branch_tickets|phone|{tenant_id}|{ticket_id}"
