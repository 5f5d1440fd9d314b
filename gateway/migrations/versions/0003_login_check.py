"""Login check: device bindings and per-tenant policies.

Revision ID: 0003_login_check
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_login_check"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_check_devices",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("phone_index", sa.String(64), nullable=False),
        sa.Column("phone_cipher", sa.Text(), nullable=False),
        sa.Column("device_index", sa.String(64), nullable=False),
        sa.Column("device_cipher", sa.Text(), nullable=False),
        sa.Column("label_cipher", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "tenant_id", "phone_index", "device_index", name="uq_login_check_devices_binding"
        ),
    )
    op.create_table(
        "login_check_policies",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("sim_swap_max_age_hours", sa.Integer(), nullable=False),
        sa.Column("device_swap_max_age_hours", sa.Integer(), nullable=False),
        sa.Column("attempts_per_number", sa.Integer(), nullable=False),
        sa.Column("attempts_per_device", sa.Integer(), nullable=False),
        sa.Column("attempts_per_ip", sa.Integer(), nullable=False),
        sa.Column("window_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("login_check_policies")
    op.drop_table("login_check_devices")
