"""Authorization server: pending authorizations, authorization codes, CIBA requests, revoked tokens.

Revision ID: 0002_authorization
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_authorization"
down_revision = "0001"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "oauth_pending_authorizations",
        sa.Column("handle_hash", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("nonce", sa.Text(), nullable=True),
        sa.Column("code_challenge", sa.String(64), nullable=False),
        sa.Column("prompt", sa.String(64), nullable=True),
        sa.Column("operator", sa.String(8), nullable=False),
        _when("created_at"),
        _when("expires_at"),
    )
    op.create_index(
        "ix_oauth_pending_authorizations_expires_at", "oauth_pending_authorizations", ["expires_at"]
    )
    op.create_table(
        "oauth_authorization_codes",
        sa.Column("code_hash", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("redirect_uri", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("nonce", sa.Text(), nullable=True),
        sa.Column("code_challenge", sa.String(64), nullable=False),
        sa.Column("phone_cipher", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(8), nullable=False),
        sa.Column("amr", sa.String(64), nullable=False),
        _when("auth_time"),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
        sa.Column("token_id", sa.String(64), nullable=True),
        _when("token_expires_at", nullable=True),
    )
    op.create_index("ix_oauth_authorization_codes_expires_at", "oauth_authorization_codes", ["expires_at"])
    op.create_table(
        "oauth_backchannel_requests",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("client_id", sa.String(64), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("phone_cipher", sa.Text(), nullable=True),
        sa.Column("operator", sa.String(8), nullable=True),
        sa.Column("amr", sa.String(64), nullable=True),
        _when("auth_time", nullable=True),
        _when("next_poll_at"),
        _when("created_at"),
        _when("expires_at"),
    )
    op.create_index("ix_oauth_backchannel_requests_expires_at", "oauth_backchannel_requests", ["expires_at"])
    op.create_table(
        "oauth_revoked_tokens",
        sa.Column("token_id", sa.String(64), primary_key=True),
        _when("expires_at"),
    )
    op.create_index("ix_oauth_revoked_tokens_expires_at", "oauth_revoked_tokens", ["expires_at"])


def downgrade() -> None:
    op.drop_table("oauth_revoked_tokens")
    op.drop_table("oauth_backchannel_requests")
    op.drop_table("oauth_authorization_codes")
    op.drop_table("oauth_pending_authorizations")
