"""Tenant lifecycle and client authentication data; every read is by id or client id.

Client secrets are 256-bit random values shown once; only their SHA-256 digest is stored (a fast
hash is sound for high-entropy secrets) and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.tenants.models import DEFAULT_ID_TOKEN_ALG, Tenant

__all__ = ["TenantCredentials", "TenantService", "hash_secret"]

_CLIENT_ID_MAX = 64
"""The ``tenants.client_id`` column's length."""


def hash_secret(secret: str) -> str:
    """The stored form of a client secret."""
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class TenantCredentials:
    """What a new tenant receives once: ids and the plaintext client secret."""

    tenant_id: str
    client_id: str
    client_secret: str

    def as_dict(self) -> dict[str, str]:
        """The contract's creation answer."""
        return {"tenant_id": self.tenant_id, "client_id": self.client_id, "client_secret": self.client_secret}


class TenantService:
    """Creates tenants, rotates secrets, and authenticates clients."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def create(
        self,
        *,
        name: str,
        scopes: list[str],
        redirect_uris: list[str],
        jwks: dict[str, Any] | None = None,
        sandbox: bool = False,
        id_token_signed_response_alg: str | None = None,
        require_signed_request_object: bool = False,
    ) -> TenantCredentials:
        """Register a tenant with one OAuth client; the secret is returned only here. Its ID tokens
        are signed in ``id_token_signed_response_alg``, or
        :data:`~gateway.tenants.models.DEFAULT_ID_TOKEN_ALG` when that is None."""
        tenant_id = str(uuid.uuid4())
        client_id = "gw_" + secrets.token_urlsafe(18)
        secret = secrets.token_urlsafe(32)
        tenant = Tenant(
            id=tenant_id,
            name=name,
            client_id=client_id,
            client_secret_hash=hash_secret(secret),
            scopes=" ".join(sorted(set(scopes))),
            redirect_uris=json.dumps(redirect_uris),
            jwks=json.dumps(jwks) if jwks is not None else None,
            sandbox=sandbox,
            id_token_signed_response_alg=id_token_signed_response_alg or DEFAULT_ID_TOKEN_ALG,
            require_signed_request_object=require_signed_request_object,
            created_at=self._clock.now(),
        )
        async with self._sessions() as session, session.begin():
            session.add(tenant)
        return TenantCredentials(tenant_id, client_id, secret)

    async def rotate_secret(self, tenant_id: str) -> TenantCredentials | None:
        """Issue a new client secret (the old one stops working at once)."""
        secret = secrets.token_urlsafe(32)
        async with self._sessions() as session, session.begin():
            tenant = await session.get(Tenant, tenant_id)
            if tenant is None:
                return None
            tenant.client_secret_hash = hash_secret(secret)
            session.add(tenant)
            return TenantCredentials(tenant.id, tenant.client_id, secret)

    async def set_redirect_uris(self, tenant_id: str, redirect_uris: list[str]) -> bool:
        """Replace the tenant's registered redirect URIs; False when there is no such tenant."""
        async with self._sessions() as session, session.begin():
            tenant = await session.get(Tenant, tenant_id)
            if tenant is None:
                return False
            tenant.redirect_uris = json.dumps(redirect_uris)
            session.add(tenant)
            return True

    async def by_client_id(self, client_id: str) -> Tenant | None:
        """The tenant owning ``client_id``; None, without a query, for a string no client id can be
        (not printable ASCII, or longer than the column): PostgreSQL refuses a NUL in a parameter."""
        if not (client_id.isascii() and client_id.isprintable() and len(client_id) <= _CLIENT_ID_MAX):
            return None
        async with self._sessions() as session:
            result = await session.exec(select(Tenant).where(Tenant.client_id == client_id))
            return result.first()

    async def by_name(self, name: str) -> Tenant | None:
        """The first tenant called ``name`` (used to seed the demo tenant idempotently)."""
        async with self._sessions() as session:
            result = await session.exec(select(Tenant).where(Tenant.name == name))
            return result.first()

    async def check_secret(self, client_id: str, secret: str) -> Tenant | None:
        """The tenant if ``secret`` is its current client secret, else None (constant time)."""
        tenant = await self.by_client_id(client_id)
        expected = tenant.client_secret_hash if tenant else hash_secret(secrets.token_urlsafe(32))
        ok = hmac.compare_digest(expected, hash_secret(secret))
        return tenant if ok and tenant is not None else None
