"""The gateway's authorization codes (RFC 6749 §4.1.2, §10.5): random, hashed, short-lived, single use.

A code is 256 random bits; only its SHA-256 is stored, with everything the token request must
match (client, ``redirect_uri``, PKCE challenge, nonce, scope) and the subscriber (number
AES-GCM encrypted, bound to tenant and row). Redemption is one conditional ``UPDATE … RETURNING``,
so exactly one request wins even across gateway processes; it also records the ``jti`` of the
access token about to be issued, so a later reuse of the code can revoke that token. Used rows
are kept for ``retention`` seconds after expiry (the longest token lifetime) to recognise reuse.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy import RowMapping
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.crypto import FieldCipher
from gateway.db import as_utc, run_unit
from gateway.oauth.models import AuthorizationCode
from gateway.oauth.subjects import AuthenticatedSubscriber

__all__ = ["CODE_TTL", "CodeInvalid", "CodeReused", "CodeStore", "RedeemedCode"]

CODE_TTL = 60
_TABLE = AuthorizationCode.__table__  # type: ignore[attr-defined]


class CodeInvalid(Exception):
    """No unused, unexpired code of this tenant has this value."""


class CodeReused(Exception):
    """The code was redeemed before; ``token_id`` names the token that redemption was to issue."""

    def __init__(self, token_id: str | None, token_expires_at: datetime | None) -> None:
        super().__init__("authorization code reused")
        self.token_id = token_id
        self.token_expires_at = token_expires_at


@dataclass(frozen=True, slots=True)
class RedeemedCode:
    """What a redeemed code was bound to."""

    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    nonce: str | None
    code_challenge: str
    subscriber: AuthenticatedSubscriber


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _aad(tenant_id: str, code_hash: str) -> str:
    return f"{tenant_id}|oauth_authorization_codes|phone_cipher|{code_hash}"


class CodeStore:
    """Issues and redeems authorization codes; see the module docstring."""

    def __init__(self, engine: AsyncEngine, cipher: FieldCipher, clock: Clock, *, retention: int) -> None:
        self._engine = engine
        self._cipher = cipher
        self._clock = clock
        self._retention = timedelta(seconds=retention)

    async def issue(
        self,
        *,
        tenant_id: str,
        client_id: str,
        redirect_uri: str,
        scope: str,
        nonce: str | None,
        code_challenge: str,
        subscriber: AuthenticatedSubscriber,
    ) -> str:
        """A new code valid for :data:`CODE_TTL` seconds."""
        code = secrets.token_urlsafe(32)
        code_hash = _digest(code)
        now = self._clock.now()
        row = {
            "code_hash": code_hash,
            "tenant_id": tenant_id,
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": scope,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "phone_cipher": self._cipher.encrypt(subscriber.phone_number, aad=_aad(tenant_id, code_hash)),
            "operator": subscriber.operator,
            "amr": " ".join(subscriber.amr),
            "auth_time": subscriber.auth_time,
            "created_at": now,
            "expires_at": now + timedelta(seconds=CODE_TTL),
        }
        await run_unit(self._engine, partial(_store, row, now - self._retention))
        return code

    async def redeem(
        self, tenant_id: str, code: str, *, token_id: str, token_expires_at: datetime
    ) -> RedeemedCode:
        """Spend ``code`` for ``tenant_id``, recording the token it will yield.

        :raises CodeReused: the code was already redeemed.
        :raises CodeInvalid: unknown, expired, or another tenant's code.
        """
        code_hash = _digest(code)
        spend = partial(_spend, tenant_id, code_hash, self._clock.now(), token_id, token_expires_at)
        row = await run_unit(self._engine, spend)
        return self._redeemed(tenant_id, code_hash, row)

    def _redeemed(self, tenant_id: str, code_hash: str, row: RowMapping) -> RedeemedCode:
        return RedeemedCode(
            client_id=row["client_id"],
            redirect_uri=row["redirect_uri"],
            scopes=frozenset(row["scope"].split()),
            nonce=row["nonce"],
            code_challenge=row["code_challenge"],
            subscriber=AuthenticatedSubscriber(
                phone_number=self._cipher.decrypt(row["phone_cipher"], aad=_aad(tenant_id, code_hash)),
                operator=row["operator"],
                amr=tuple(row["amr"].split()),
                auth_time=as_utc(row["auth_time"]) or self._clock.now(),
            ),
        )


def _store(row: dict[str, Any], drop_before: datetime, conn: Connection) -> None:
    conn.execute(sa.delete(_TABLE).where(_TABLE.c.expires_at < drop_before))
    conn.execute(sa.insert(_TABLE).values(**row))


def _spend(
    tenant_id: str, code_hash: str, now: datetime, token_id: str, token_expires_at: datetime, conn: Connection
) -> RowMapping:
    """Mark the code used and return its row.

    :raises CodeReused: it was used before.
    :raises CodeInvalid: unknown, expired, or another tenant's.
    """
    mine = (_TABLE.c.code_hash == code_hash) & (_TABLE.c.tenant_id == tenant_id)
    row = (
        conn.execute(
            sa.update(_TABLE)
            .where(mine & _TABLE.c.used_at.is_(None) & (_TABLE.c.expires_at > now))
            .values(used_at=now, token_id=token_id, token_expires_at=token_expires_at)
            .returning(*_TABLE.c)
        )
        .mappings()
        .first()
    )
    if row is not None:
        return row
    earlier = conn.execute(sa.select(_TABLE).where(mine)).mappings().first()
    if earlier is not None and earlier["used_at"] is not None:
        raise CodeReused(earlier["token_id"], as_utc(earlier["token_expires_at"]))
    raise CodeInvalid("unknown or expired code")
