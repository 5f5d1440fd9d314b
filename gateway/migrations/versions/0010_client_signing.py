"""Per-client ID token algorithm and signed-request requirement; the algorithm of each signing key.

Revision ID: 0010_client_signing
Revises: 0009_message_parts
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_client_signing"
down_revision = "0009_message_parts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("id_token_signed_response_alg", sa.String(8), nullable=True))
        batch.add_column(
            sa.Column(
                "require_signed_request_object", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("signing_keys") as batch:
        batch.add_column(sa.Column("alg", sa.String(8), nullable=False, server_default="ES256"))


def downgrade() -> None:
    with op.batch_alter_table("signing_keys") as batch:
        batch.drop_column("alg")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("require_signed_request_object")
        batch.drop_column("id_token_signed_response_alg")
