"""The ``sms_templates`` table: one row per template, parameters stored as JSON."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["TemplateRecord"]


class TemplateRecord(SQLModel, table=True):
    """A tenant's SMS template and its review state (see :class:`gateway.templates.spec.Template`);
    ``flow`` and the quick app are null for verification templates."""

    __tablename__ = "sms_templates"

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40, index=True)
    name: str = Field(max_length=64)
    category: str = Field(max_length=16)
    signature: str = Field(max_length=16)
    text: str = Field(sa_type=sa.Text)
    flow: str | None = Field(default=None, max_length=32)
    quick_app_package: str | None = Field(default=None, max_length=128)
    quick_app_page: str | None = Field(default=None, max_length=128)
    params: str = Field(sa_type=sa.Text)
    status: str = Field(max_length=16)
    reason: str | None = Field(default=None, sa_type=sa.Text)
    builtin: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    decided_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
