"""Campaigns (issue 22): campaigns and their recipients (:mod:`gateway.campaigns.models`).

Revision ID: 0021_campaigns
Revises: 0011_sms_guard
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_campaigns"
down_revision = "0011_sms_guard"
branch_labels = None
depends_on = None

_MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("template_id", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rate", sa.Integer(), nullable=False),
        sa.Column("channels", sa.Text(), nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", _MOMENT, nullable=True),
        sa.Column("next_run_at", _MOMENT, nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", _MOMENT, nullable=True),
        sa.Column("progress_at", _MOMENT, nullable=True),
        sa.Column("started_at", _MOMENT, nullable=True),
        sa.Column("ended_at", _MOMENT, nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
    )
    op.create_index("ix_campaigns_due", "campaigns", ["status", "next_run_at"])
    op.create_index("ix_campaigns_tenant_created", "campaigns", ["tenant_id", "created_at", "id"])
    op.create_table(
        "campaign_recipients",
        sa.Column("campaign_id", sa.String(40), sa.ForeignKey("campaigns.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("phone_index", sa.String(64), nullable=False),
        sa.Column("recipient_cipher", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String(40), nullable=True),
        sa.Column("reason", sa.String(64), nullable=True),
        sa.UniqueConstraint("campaign_id", "phone_index", name="uq_campaign_recipients_phone"),
    )
    op.create_index("ix_campaign_recipients_state", "campaign_recipients", ["campaign_id", "state", "seq"])


def downgrade() -> None:
    op.drop_table("campaign_recipients")
    op.drop_table("campaigns")
