"""Tenant table: one OAuth client per tenant, secret stored as a SHA-256 digest."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = ["DEFAULT_ID_TOKEN_ALG", "Tenant"]

DEFAULT_ID_TOKEN_ALG = "RS256"  # noqa: S105  # an algorithm name, not a password  # nosec B105
"""``id_token_signed_response_alg`` of a client registered without it (OIDC Registration §2)."""


class Tenant(SQLModel, table=True):
    """A bank or insurer: its scopes, redirect URIs, optional JWKS for ``private_key_jwt`` and signed
    request objects, the algorithm of its ID tokens (stored at registration,
    :data:`DEFAULT_ID_TOKEN_ALG` when not given; None, on rows registered before that default, means
    ES256) and whether its authorization and CIBA requests must be signed request objects."""

    __tablename__ = "tenants"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    client_id: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    client_secret_hash: str = Field(max_length=128)
    scopes: str = Field(sa_type=sa.Text)
    redirect_uris: str = Field(sa_type=sa.Text, default="[]")
    jwks: str | None = Field(default=None, sa_type=sa.Text)
    sandbox: bool = False
    id_token_signed_response_alg: str | None = Field(default=None, max_length=8)
    require_signed_request_object: bool = Field(
        default=False, sa_column_kwargs={"server_default": sa.false()}
    )
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
