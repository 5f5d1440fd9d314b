"""Push messages: messages, events, short links, idempotency records, opt-outs.

Revision ID: 0006_push
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_push"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "push_messages",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("template_id", sa.String(40), nullable=False),
        sa.Column("category", sa.String(16), nullable=False),
        sa.Column("signature", sa.String(16), nullable=False),
        sa.Column("recipient_index", sa.String(64), nullable=False),
        sa.Column("recipient_cipher", sa.Text(), nullable=False),
        sa.Column("text_cipher", sa.Text(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("encoding", sa.String(8), nullable=False),
        sa.Column("operator", sa.String(8), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("provider_message_id", sa.String(128), nullable=True),
        sa.Column("failure_reason", sa.String(64), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("scheduled_at", _TS, nullable=False),
        sa.Column("next_attempt_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_push_messages_due", "push_messages", ["status", "next_attempt_at"])
    op.create_index("ix_push_messages_recipient", "push_messages", ["tenant_id", "recipient_index"])
    op.create_table(
        "push_message_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(40), sa.ForeignKey("push_messages.id"), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("state", sa.String(16), nullable=True),
        sa.Column("detail", sa.String(64), nullable=True),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.UniqueConstraint("message_id", "dedupe_key", name="uq_push_message_events_dedupe"),
    )
    op.create_index("ix_push_message_events_message_id", "push_message_events", ["message_id"])
    op.create_table(
        "push_links",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column(
            "message_id", sa.String(40), sa.ForeignKey("push_messages.id"), nullable=False, unique=True
        ),
        sa.Column("template_id", sa.String(40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_table(
        "push_idempotency_keys",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_push_idempotency_keys_expires_at", "push_idempotency_keys", ["expires_at"])
    op.create_table(
        "push_opt_outs",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("signature", sa.String(16), primary_key=True),
        sa.Column("phone_index", sa.String(64), primary_key=True),
        sa.Column("operator", sa.String(8), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("push_opt_outs")
    op.drop_index("ix_push_idempotency_keys_expires_at", table_name="push_idempotency_keys")
    op.drop_table("push_idempotency_keys")
    op.drop_table("push_links")
    op.drop_index("ix_push_message_events_message_id", table_name="push_message_events")
    op.drop_table("push_message_events")
    op.drop_index("ix_push_messages_recipient", table_name="push_messages")
    op.drop_index("ix_push_messages_due", table_name="push_messages")
    op.drop_table("push_messages")
