"""The operators' outages as each process's circuit breakers saw them (issue 21, dashboard):
``gateway.circuit_journal``.

Revision ID: 0019_circuit_openings
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_circuit_openings"
down_revision = "0001"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "operator_circuit_openings",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("operator", sa.String(8), nullable=False),
        sa.Column("process", sa.String(80), nullable=False),
        sa.Column("opened_at", _TS, nullable=False),
        sa.Column("closed_at", _TS, nullable=True),
    )
    op.create_index("ix_operator_circuit_openings_opened_at", "operator_circuit_openings", ["opened_at"])


def downgrade() -> None:
    op.drop_index("ix_operator_circuit_openings_opened_at", "operator_circuit_openings")
    op.drop_table("operator_circuit_openings")
