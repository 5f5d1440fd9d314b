"""Links and flows: the params of push messages, flow states and sessions, branches and tickets.

Revision ID: 0008_flows
Revises: 0006_push
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_flows"
down_revision = "0006_push"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("push_messages") as batch:
        batch.add_column(sa.Column("params_cipher", sa.Text(), nullable=True))
    op.create_table(
        "flow_states",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("message_id", sa.String(40), nullable=False, unique=True),
        sa.Column("link_code", sa.String(32), nullable=False),
        sa.Column("flow", sa.String(32), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("holder_index", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("opened_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("consented_at", _TS, nullable=True),
        sa.Column("declined_at", _TS, nullable=True),
        sa.Column("completed_at", _TS, nullable=True),
        sa.Column("location_cipher", sa.Text(), nullable=True),
    )
    op.create_table(
        "flow_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("state_id", sa.String(40), sa.ForeignKey("flow_states.id"), nullable=False),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_flow_sessions_state_id", "flow_sessions", ["state_id"])
    op.create_index("ix_flow_sessions_expires_at", "flow_sessions", ["expires_at"])
    op.create_table(
        "branches",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("template_id", sa.String(40), nullable=False),
        sa.Column("call_template_id", sa.String(40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_branches_tenant_id", "branches", ["tenant_id"])
    op.create_table(
        "branch_tickets",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("branch_id", sa.String(40), sa.ForeignKey("branches.id"), nullable=False),
        sa.Column("service_day", sa.String(10), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("service", sa.String(32), nullable=True),
        sa.Column("phone_index", sa.String(64), nullable=False),
        sa.Column("phone_cipher", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("counter", sa.String(8), nullable=True),
        sa.Column("message_id", sa.String(40), nullable=True, unique=True),
        sa.Column("call_message_id", sa.String(40), nullable=True, unique=True),
        sa.Column("issued_at", _TS, nullable=False),
        sa.Column("called_at", _TS, nullable=True),
        sa.Column("cancelled_at", _TS, nullable=True),
        sa.UniqueConstraint("branch_id", "service_day", "seq", name="uq_branch_tickets_seq"),
    )
    op.create_index("ix_branch_tickets_queue", "branch_tickets", ["branch_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_branch_tickets_queue", table_name="branch_tickets")
    op.drop_table("branch_tickets")
    op.drop_index("ix_branches_tenant_id", table_name="branches")
    op.drop_table("branches")
    op.drop_index("ix_flow_sessions_expires_at", table_name="flow_sessions")
    op.drop_index("ix_flow_sessions_state_id", table_name="flow_sessions")
    op.drop_table("flow_sessions")
    op.drop_table("flow_states")
    with op.batch_alter_table("push_messages") as batch:
        batch.drop_column("params_cipher")
