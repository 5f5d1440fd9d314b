"""Every table, imported once so alembic and tests see the whole metadata."""

from __future__ import annotations

from sqlmodel import SQLModel

from gateway.oauth.models import SigningKey
from gateway.one_tap.models import UsageRecord
from gateway.tenants.models import Tenant

__all__ = ["SigningKey", "Tenant", "UsageRecord", "metadata"]

metadata = SQLModel.metadata
