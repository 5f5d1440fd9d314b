"""The operations dashboard (issue 21): its daily rollups (:mod:`gateway.dashboard.models`), the
last-four-digits index of push messages for its search, and the indexes its daily computations and
range queries start from (``docs/dashboard.md``).

Messages stored before this revision have no ``recipient_last4_index``: the search by digits does
not find them (by id it does).

Revision ID: 0017_dashboard
Revises: 0011_sms_guard
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_dashboard"
down_revision = "0011_sms_guard"
branch_labels = None
depends_on = ("0004_webhooks", "0013_verify")


_MOMENT = sa.DateTime(timezone=True)


def _key() -> list[sa.Column[str]]:
    return [
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
    ]


def upgrade() -> None:
    counts = ["accepted", "submitted", "delivered", "opened", "location_shared", "ticket_called", "failed"]
    op.create_table(
        "dashboard_message_days",
        *_key(),
        sa.Column("template_id", sa.String(40), primary_key=True),
        sa.Column("operator", sa.String(8), primary_key=True),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in [*counts, "undelivered", "no_report"]),
    )
    op.create_table(
        "dashboard_latency_days",
        *_key(),
        sa.Column("operator", sa.String(8), primary_key=True),
        sa.Column("bucket_ms", sa.BigInteger(), primary_key=True),
        sa.Column("messages", sa.Integer(), nullable=False),
    )
    op.create_table(
        "dashboard_failure_days",
        *_key(),
        sa.Column("operator", sa.String(8), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("reason", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )
    op.create_table(
        "dashboard_usage_days",
        *_key(),
        sa.Column("operator", sa.String(8), primary_key=True),
        sa.Column("capability", sa.String(40), primary_key=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("billed", sa.Integer(), nullable=False),
    )
    op.create_table(
        "dashboard_verify_days",
        *_key(),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in ("requests", "completed", "by_code", "failed", "expired", "cancelled", "pending")
        ),
    )
    op.create_table(
        "dashboard_queue_days",
        *_key(),
        sa.Column("branch_id", sa.String(40), primary_key=True),
        *(
            sa.Column(name, sa.Integer(), nullable=False)
            for name in ("issued", "called", "no_show", "cancelled", "waiting", "waited")
        ),
        sa.Column("wait_ms", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "dashboard_webhook_days",
        *_key(),
        sa.Column("target", sa.String(80), primary_key=True),
        sa.Column("status", sa.String(16), primary_key=True),
        sa.Column("deliveries", sa.Integer(), nullable=False),
    )
    op.create_table(
        "dashboard_refreshes",
        *_key(),
        sa.Column("computed_at", _MOMENT, nullable=False),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("open_until", _MOMENT, nullable=True),
    )
    op.add_column("push_messages", sa.Column("recipient_last4_index", sa.String(64), nullable=True))
    op.create_index("ix_push_messages_tenant_created", "push_messages", ["tenant_id", "created_at"])
    op.create_index(
        "ix_push_messages_last4", "push_messages", ["tenant_id", "recipient_last4_index", "created_at"]
    )
    op.create_index("ix_usage_records_tenant_created", "usage_records", ["tenant_id", "created_at"])
    op.create_index("ix_webhook_deliveries_tenant_created", "webhook_deliveries", ["tenant_id", "created_at"])
    op.create_index("ix_verify_requests_tenant_created", "verify_requests", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_verify_requests_tenant_created", table_name="verify_requests")
    for table in (
        "dashboard_refreshes",
        "dashboard_webhook_days",
        "dashboard_queue_days",
        "dashboard_verify_days",
        "dashboard_usage_days",
        "dashboard_failure_days",
        "dashboard_latency_days",
        "dashboard_message_days",
    ):
        op.drop_table(table)
    op.drop_index("ix_webhook_deliveries_tenant_created", table_name="webhook_deliveries")
    op.drop_index("ix_usage_records_tenant_created", table_name="usage_records")
    op.drop_index("ix_push_messages_last4", table_name="push_messages")
    op.drop_index("ix_push_messages_tenant_created", table_name="push_messages")
    op.drop_column("push_messages", "recipient_last4_index")
