"""CAMARA SIM swap subscriptions, and sink deliveries in the webhook outbox.

Revision ID: 0007_sim_swap_subscriptions
Revises: 0004_webhooks
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_sim_swap_subscriptions"
down_revision = "0004_webhooks"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("webhook_deliveries", sa.Column("sink", sa.String(80), nullable=True))
    op.create_table(
        "sim_swap_subscriptions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("three_legged", sa.Boolean(), nullable=False),
        sa.Column("phone_index", sa.String(64), nullable=False),
        sa.Column("phone_cipher", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(8), nullable=False),
        sa.Column("sink", sa.Text(), nullable=False),
        sa.Column("sink_token_cipher", sa.Text(), nullable=True),
        sa.Column("sink_token_expires_at", _TS, nullable=True),
        sa.Column("secret_cipher", sa.Text(), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("max_events", sa.Integer(), nullable=True),
        sa.Column("events_sent", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("termination_reason", sa.String(32), nullable=True),
        sa.Column("starts_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=True),
        sa.Column("last_seen_change", _TS, nullable=True),
        sa.Column("next_poll_at", _TS, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("ended_at", _TS, nullable=True),
        sa.Column("deleted_at", _TS, nullable=True),
    )
    op.create_index("ix_sim_swap_subscriptions_due", "sim_swap_subscriptions", ["status", "next_poll_at"])
    op.create_index(
        "ix_sim_swap_subscriptions_client",
        "sim_swap_subscriptions",
        ["tenant_id", "client_id", "phone_index"],
    )


def downgrade() -> None:
    op.drop_table("sim_swap_subscriptions")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_column("sink")
