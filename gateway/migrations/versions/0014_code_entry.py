"""The authorization endpoint's SMS-code fallback: a pending authorization may wait for a code.

Revision ID: 0014_code_entry
Revises: 0002_authorization
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_code_entry"
down_revision = "0002_authorization"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_pending_authorizations") as batch:
        batch.add_column(sa.Column("verification_id", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("oauth_pending_authorizations") as batch:
        batch.drop_column("verification_id")
