"""Verification SMS templates: no flow and no quick app, so those columns of ``sms_templates`` accept null.

Revision ID: 0012_verification_templates
Revises: 0005_templates
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_verification_templates"
down_revision = "0005_templates"
branch_labels = None
depends_on = None

_COLUMNS = (("flow", 32), ("quick_app_package", 128), ("quick_app_page", 128))


def upgrade() -> None:
    with op.batch_alter_table("sms_templates") as batch:
        for name, length in _COLUMNS:
            batch.alter_column(name, existing_type=sa.String(length), nullable=True)


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM sms_templates WHERE category = 'verification'"))
    with op.batch_alter_table("sms_templates") as batch:
        for name, length in _COLUMNS:
            batch.alter_column(name, existing_type=sa.String(length), nullable=False)
