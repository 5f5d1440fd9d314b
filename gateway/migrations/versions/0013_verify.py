"""Verification requests and the pumping guard's prefix blocks.

Revision ID: 0013_verify
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_verify"
down_revision = "0001"
branch_labels = None
depends_on = None

_MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "verify_requests",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("phone_index", sa.String(64), nullable=False),
        sa.Column("prefix_index", sa.String(64), nullable=False),
        sa.Column("phone_cipher", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("workflow", sa.Text(), nullable=False),
        sa.Column("outcomes", sa.Text(), nullable=False),
        sa.Column("current", sa.Integer(), nullable=False),
        sa.Column("deadline", _MOMENT, nullable=True),
        sa.Column("code_length", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(35), nullable=False),
        sa.Column("channel_timeout", sa.Integer(), nullable=False),
        sa.Column("client_reference", sa.String(64), nullable=True),
        sa.Column("code_index", sa.String(64), nullable=True),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("wrong_codes", sa.Integer(), nullable=False),
        sa.Column("verified_by_code", sa.Boolean(), nullable=False),
        sa.Column("operator", sa.String(8), nullable=True),
        sa.Column("handle_hash", sa.String(64), nullable=True),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
    )
    op.create_index("ix_verify_requests_due", "verify_requests", ["status", "deadline"])
    op.create_index("ix_verify_requests_phone", "verify_requests", ["tenant_id", "phone_index", "status"])
    op.create_index(
        "uq_verify_requests_pending",
        "verify_requests",
        ["tenant_id", "phone_index"],
        unique=True,
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_verify_requests_prefix", "verify_requests", ["tenant_id", "prefix_index", "created_at"]
    )
    op.create_index("ix_verify_requests_handle_hash", "verify_requests", ["handle_hash"])
    op.create_table(
        "verify_prefix_blocks",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("prefix_index", sa.String(64), primary_key=True),
        sa.Column("until", _MOMENT, nullable=False),
        sa.Column("opened_at", _MOMENT, nullable=False),
        sa.Column("codes_sent", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("verify_prefix_blocks")
    op.drop_table("verify_requests")
