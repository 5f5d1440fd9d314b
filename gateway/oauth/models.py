"""Authorization-server tables: signing keys (private halves encrypted at rest), pending
authorizations, authorization codes, CIBA requests and revoked tokens.

Everything a flow needs between two requests lives here, so any gateway process can continue it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

__all__ = [
    "AuthorizationCode",
    "BackchannelRequest",
    "PendingAuthorization",
    "RevokedToken",
    "SigningKey",
]


class SigningKey(SQLModel, table=True):
    """One key of ``alg`` (ES256 or RS256); ``retired_at`` set once a newer key of the same algorithm
    signs (published until tokens expire)."""

    __tablename__ = "signing_keys"

    kid: str = Field(primary_key=True, max_length=64)
    alg: str = Field(default="ES256", max_length=8, sa_column_kwargs={"server_default": "ES256"})
    private_key: str = Field(sa_type=sa.Text)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    retired_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class PendingAuthorization(SQLModel, table=True):
    """An authorization request between ``/oauth2/authorize`` and the operator's callback (single use).

    Keyed by the SHA-256 of the opaque handle sent to the operator as ``state`` (or, off the mobile
    network, in the URL of the code-entry page: then ``verification_id`` names the verification
    request whose code the customer types); deleted when used.
    """

    __tablename__ = "oauth_pending_authorizations"

    handle_hash: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(max_length=40, foreign_key="tenants.id")
    client_id: str = Field(max_length=64)
    redirect_uri: str = Field(sa_type=sa.Text)
    scope: str = Field(sa_type=sa.Text)
    state: str | None = Field(default=None, sa_type=sa.Text)
    nonce: str | None = Field(default=None, sa_type=sa.Text)
    code_challenge: str = Field(max_length=64)
    prompt: str | None = Field(default=None, max_length=64)
    operator: str = Field(max_length=8)
    verification_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


class AuthorizationCode(SQLModel, table=True):
    """A gateway authorization code (stored hashed): single use, bound to client, URI, PKCE and nonce.

    ``token_id``/``token_expires_at`` name the access token its one redemption issued, so a second
    redemption can revoke it. The subscriber's number is AES-GCM encrypted.
    """

    __tablename__ = "oauth_authorization_codes"

    code_hash: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(max_length=40, foreign_key="tenants.id")
    client_id: str = Field(max_length=64)
    redirect_uri: str = Field(sa_type=sa.Text)
    scope: str = Field(sa_type=sa.Text)
    nonce: str | None = Field(default=None, sa_type=sa.Text)
    code_challenge: str = Field(max_length=64)
    phone_cipher: str = Field(sa_type=sa.Text)
    operator: str = Field(max_length=8)
    amr: str = Field(max_length=64)
    auth_time: datetime = Field(sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)
    used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    token_id: str | None = Field(default=None, max_length=64)
    token_expires_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class BackchannelRequest(SQLModel, table=True):
    """A CIBA authentication request (poll mode), keyed by the SHA-256 of its ``auth_req_id``.

    ``status``: ``pending`` -> ``granted`` | ``denied``; ``granted`` -> ``consumed`` when tokens are
    issued. ``next_poll_at`` enforces the polling interval across gateway processes.
    """

    __tablename__ = "oauth_backchannel_requests"

    id_hash: str = Field(primary_key=True, max_length=64)
    tenant_id: str = Field(max_length=40, foreign_key="tenants.id")
    client_id: str = Field(max_length=64)
    scope: str = Field(sa_type=sa.Text)
    status: str = Field(max_length=16)
    phone_cipher: str | None = Field(default=None, sa_type=sa.Text)
    operator: str | None = Field(default=None, max_length=8)
    amr: str | None = Field(default=None, max_length=64)
    auth_time: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    next_poll_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    created_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)


class RevokedToken(SQLModel, table=True):
    """An access token revoked before its expiry (a reused authorization code), kept until it expires."""

    __tablename__ = "oauth_revoked_tokens"

    token_id: str = Field(primary_key=True, max_length=64)
    expires_at: datetime = Field(sa_type=sa.DateTime(timezone=True), index=True)
