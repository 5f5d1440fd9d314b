"""Tables of the console's single sign-on: a tenant's identity provider (``tenant_sso``) and the
sign-ins under way (``console_sso_states``), migration ``0018_staff_sso``.

``tenant_sso.client_secret_cipher`` is AES-GCM encrypted with AAD
``tenant_sso|client_secret|<tenant>``; ``console_sso_states.secrets_cipher`` holds the sign-in's
nonce and PKCE verifier as JSON, encrypted with AAD ``console_sso_states|secrets|<tenant>|<state hash>``.
States are stored by the SHA-256 of the ``state`` value, the browser by the SHA-256 of its binding
cookie.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["SsoState", "TenantSso", "client_secret_aad", "state_secrets_aad"]


class TenantSso(SQLModel, table=True):
    """A tenant's OIDC identity provider: its issuer URL and the gateway's client there."""

    __tablename__ = "tenant_sso"

    tenant_id: str = Field(primary_key=True, foreign_key="tenants.id", max_length=40)
    issuer: str = Field(max_length=2048)
    client_id: str = Field(max_length=255)
    client_secret_cipher: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


class SsoState(SQLModel, table=True):
    """One sign-in sent to the identity provider and not yet back (single use, short-lived)."""

    __tablename__ = "console_sso_states"

    state_hash: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=40)
    browser_hash: str = Field(max_length=64)
    secrets_cipher: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


def client_secret_aad(tenant_id: str) -> str:
    """AAD of ``tenant_sso.client_secret_cipher``."""
    return f"tenant_sso|client_secret|{tenant_id}"


def state_secrets_aad(tenant_id: str, state_hash: str) -> str:
    """AAD of ``console_sso_states.secrets_cipher``."""
    return f"console_sso_states|secrets|{tenant_id}|{state_hash}"
