"""Login-check tables: device bindings (personal data encrypted and blind-indexed) and tenant policies."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["DeviceBinding", "LoginCheckPolicy"]


class DeviceBinding(SQLModel, table=True):
    """A device a tenant bound to a phone number; unique per tenant, number and device.

    Number, device id and label are AES-GCM encrypted (AAD ``login_check_devices|<column>|<tenant>|<id>``);
    number and device id are found by their per-tenant blind indexes.
    """

    __tablename__ = "login_check_devices"
    __table_args__ = (
        sa.UniqueConstraint(
            "tenant_id", "phone_index", "device_index", name="uq_login_check_devices_binding"
        ),
    )

    id: str = Field(primary_key=True, max_length=40)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    phone_index: str = Field(max_length=64)
    phone_cipher: str = Field(sa_type=sa.Text)
    device_index: str = Field(max_length=64)
    device_cipher: str = Field(sa_type=sa.Text)
    label_cipher: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class LoginCheckPolicy(SQLModel, table=True):
    """A tenant's login-check thresholds; a tenant without a row uses the gateway defaults."""

    __tablename__ = "login_check_policies"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    sim_swap_max_age_hours: int
    device_swap_max_age_hours: int
    attempts_per_number: int
    attempts_per_device: int
    attempts_per_ip: int
    window_seconds: int
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
