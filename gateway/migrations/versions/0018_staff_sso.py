"""Staff single sign-on (issue 21): a tenant's OIDC identity provider, the sign-ins under way, and
the IdP subject a staff account is linked to.

Revision ID: 0018_staff_sso
Revises: 0015_staff
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_staff_sso"
down_revision = "0015_staff"
branch_labels = None
depends_on = None

_MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("staff_members") as batch:
        batch.add_column(sa.Column("sso_subject", sa.String(255), nullable=True))
    op.create_index("ix_staff_members_sso", "staff_members", ["tenant_id", "sso_subject"], unique=True)
    op.create_table(
        "tenant_sso",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("issuer", sa.String(2048), nullable=False),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("client_secret_cipher", sa.Text(), nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("updated_at", _MOMENT, nullable=False),
    )
    op.create_table(
        "console_sso_states",
        sa.Column("state_hash", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("browser_hash", sa.String(64), nullable=False),
        sa.Column("secrets_cipher", sa.Text(), nullable=False),
        sa.Column("created_at", _MOMENT, nullable=False),
        sa.Column("expires_at", _MOMENT, nullable=False),
    )
    op.create_index("ix_console_sso_states_expires_at", "console_sso_states", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_console_sso_states_expires_at", "console_sso_states")
    op.drop_table("console_sso_states")
    op.drop_table("tenant_sso")
    op.drop_index("ix_staff_members_sso", "staff_members")
    with op.batch_alter_table("staff_members") as batch:
        batch.drop_column("sso_subject")
