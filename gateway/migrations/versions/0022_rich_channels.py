"""Rich-message channels (issue 22 part 2): tenants' 5G chatbots and card-SMS accounts, card templates,
and the platforms' events (``gateway.rich.models``).

Revision ID: 0022_rich_channels
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_rich_channels"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _tenant() -> sa.Column[str]:
    return sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "rich_chatbots",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("operator", sa.String(8), primary_key=True),
        sa.Column("bot_id", sa.String(64), nullable=False),
        sa.Column("secret_cipher", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("operator", "bot_id", name="uq_rich_chatbots_bot"),
    )
    op.create_table(
        "rich_card_accounts",
        sa.Column("tenant_id", sa.String(40), sa.ForeignKey("tenants.id"), primary_key=True),
        sa.Column("vendor", sa.String(16), primary_key=True),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("secret_cipher", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("vendor", "app_id", name="uq_rich_card_accounts_app"),
    )
    op.create_table(
        "rich_card_templates",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant(),
        sa.Column("vendor", sa.String(16), nullable=False),
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("vendor_template_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("checked_at", _TS, nullable=False),
        sa.Column("decided_at", _TS, nullable=True),
    )
    op.create_index("ix_rich_card_templates_tenant", "rich_card_templates", ["tenant_id", "created_at"])
    op.create_table(
        "rich_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _tenant(),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("account", sa.String(64), nullable=False),
        sa.Column("message_ref", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("dedupe_key", sa.String(64), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.UniqueConstraint("dedupe_key", name="uq_rich_events_dedupe"),
    )
    op.create_index("ix_rich_events_ref", "rich_events", ["message_ref", "id"])
    op.create_index("ix_rich_events_tenant", "rich_events", ["tenant_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_rich_events_tenant", "rich_events")
    op.drop_index("ix_rich_events_ref", "rich_events")
    op.drop_table("rich_events")
    op.drop_index("ix_rich_card_templates_tenant", "rich_card_templates")
    op.drop_table("rich_card_templates")
    op.drop_table("rich_card_accounts")
    op.drop_table("rich_chatbots")
