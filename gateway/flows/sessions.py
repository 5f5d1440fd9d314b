"""Flow sessions: the short-lived bearer a redeemed link gives the page (``Authorization: Bearer``).

A session is an opaque ``fls_`` + 256 random bits (base64url), never put in a URL; only its
SHA-256 is stored (like client secrets: a fast hash suffices for 256-bit values). It is bound to
one flow state, hence to one link, message, tenant and verified holder, and lives
``FLOW_SESSION_TTL`` (900 s) but never past the link's expiry. Redeeming again (the holder only)
issues a new session for the same flow state; expired sessions of that state are deleted then.
Every failure to resolve a session is the one generic ``401 UNAUTHENTICATED``.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.db import as_utc
from gateway.errors import Unauthenticated
from gateway.flows.models import FlowSession, FlowState
from gateway.templates import Flow

__all__ = [
    "FlowContext",
    "FlowSessions",
    "IssuedSession",
    "new_session_token",
    "session_digest",
    "session_expiry",
    "well_formed",
]

PREFIX = "fls_"
_TOKEN = re.compile(r"fls_[A-Za-z0-9_-]{43}")


def new_session_token() -> str:
    """A fresh session bearer: ``fls_`` + 32 random bytes in base64url (43 characters)."""
    return PREFIX + secrets.token_urlsafe(32)


def well_formed(token: str) -> bool:
    """Whether ``token`` has the shape of a session bearer (checked before any lookup)."""
    return bool(_TOKEN.fullmatch(token))


def session_digest(token: str) -> str:
    """What is stored and looked up: the SHA-256 hex of the bearer."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_expiry(now: datetime, ttl_seconds: int, link_expires_at: datetime) -> datetime:
    """``now + ttl``, but never after the link expires."""
    return min(now + timedelta(seconds=ttl_seconds), link_expires_at)


@dataclass(frozen=True, slots=True)
class IssuedSession:
    """A new session: the bearer (shown once) and when it stops working."""

    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class FlowContext:
    """Who a valid session speaks for: the flow state and its link's message and tenant."""

    state_id: str
    tenant_id: str
    message_id: str
    flow: Flow
    expires_at: datetime


class FlowSessions:
    """Issues and resolves flow sessions."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], clock: Clock, *, ttl_seconds: int) -> None:
        self._sessions = sessions
        self._clock = clock
        self._ttl = ttl_seconds

    async def issue(self, state: FlowState, *, link_expires_at: datetime) -> IssuedSession:
        """A new session for ``state``; deletes the state's expired sessions."""
        now = self._clock.now()
        token = new_session_token()
        expires_at = session_expiry(now, self._ttl, link_expires_at)
        async with self._sessions() as session, session.begin():
            await session.exec(
                sa.delete(FlowSession).where(
                    col(FlowSession.state_id) == state.id, col(FlowSession.expires_at) <= now
                )
            )
            session.add(
                FlowSession(
                    token_hash=session_digest(token),
                    state_id=state.id,
                    tenant_id=state.tenant_id,
                    message_id=state.message_id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        return IssuedSession(token, expires_at)

    async def resolve(self, token: str) -> FlowContext:
        """The context of a live session.

        :raises Unauthenticated: malformed, unknown or expired.
        """
        if not well_formed(token):
            raise Unauthenticated()
        async with self._sessions() as session:
            row = (
                await session.exec(
                    select(FlowSession, FlowState)
                    .join(FlowState, col(FlowState.id) == col(FlowSession.state_id))
                    .where(FlowSession.token_hash == session_digest(token))
                )
            ).first()
        if row is None:
            raise Unauthenticated()
        flow_session, state = row
        expires_at = as_utc(flow_session.expires_at) or flow_session.expires_at
        if expires_at <= self._clock.now():
            raise Unauthenticated()
        return FlowContext(
            state_id=state.id,
            tenant_id=state.tenant_id,
            message_id=state.message_id,
            flow=Flow(state.flow),
            expires_at=expires_at,
        )
