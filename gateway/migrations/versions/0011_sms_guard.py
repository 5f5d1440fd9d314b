"""The SMS-fraud controls' tables: tenants' SMS policies and their daily usage against the budget.

Revision ID: 0011_sms_guard
Revises: 0010_client_signing
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_sms_guard"
down_revision = "0010_client_signing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "push_sms_policies",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("number_per_10min", sa.Integer(), nullable=False),
        sa.Column("number_per_day", sa.Integer(), nullable=False),
        sa.Column("prefix_per_10min", sa.Integer(), nullable=False),
        sa.Column("prefix_per_day", sa.Integer(), nullable=False),
        sa.Column("daily_budget", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "push_sms_usage",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("messages", sa.Integer(), nullable=False),
        sa.Column("segments", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("push_sms_usage")
    op.drop_table("push_sms_policies")
