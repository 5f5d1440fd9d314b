"""Message parts named by the operator's ids, and reports that arrived before their submission.

Also drops the index on push_message_events.message_id: the unique index on (message_id,
dedupe_key) serves the same reads, and each event insert maintained both.

Revision ID: 0009_message_parts
Revises: 0008_flows
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_message_parts"
down_revision = "0008_flows"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.drop_index("ix_push_message_events_message_id", table_name="push_message_events")
    op.create_table(
        "push_message_parts",
        sa.Column("message_id", sa.String(40), sa.ForeignKey("push_messages.id"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("operator", sa.String(8), nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=True),
        sa.Column("detail", sa.String(64), nullable=True),
        sa.Column("reported_at", _TS, nullable=True),
    )
    op.create_index("ix_push_message_parts_provider", "push_message_parts", ["provider_id", "operator"])
    op.create_table(
        "push_early_reports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("operator", sa.String(8), nullable=False),
        sa.Column("provider_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(64), nullable=True),
        sa.Column("reported_at", _TS, nullable=False),
        sa.Column("received_at", _TS, nullable=False),
    )
    op.create_index("ix_push_early_reports_provider", "push_early_reports", ["provider_id", "operator"])
    op.create_index("ix_push_early_reports_received_at", "push_early_reports", ["received_at"])


def downgrade() -> None:
    op.create_index("ix_push_message_events_message_id", "push_message_events", ["message_id"])
    op.drop_table("push_early_reports")
    op.drop_table("push_message_parts")
