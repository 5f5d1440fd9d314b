"""Console sessions: the cookie a staff member's browser holds after signing in.

A session is ``gcs_`` + 256 random bits (base64url), sent only as the ``gw_console`` cookie; the
table keeps its SHA-256 (a fast hash suffices for 256-bit values), the member, the session's CSRF
token (AES-GCM encrypted: the page asks for it again after a reload) and two ends:

- the **idle end**, ``CONSOLE_IDLE_TIMEOUT_SECONDS`` (15 min) after the last activity (sign-in, a
  state-changing call, ``GET /console/api/session``; polling the queue is not activity);
- the **absolute end**, ``CONSOLE_SESSION_LIFETIME_SECONDS`` (12 h) after sign-in; the idle end
  never passes it.

A session is dead, and deleted when met, past either end, when its member is gone or disabled,
or when the member's password changed after the session began (``accounts.password_changed_at``
when the accounts tell it). Every way a session fails to resolve is the one generic
:class:`SignInRequired` (401 ``UNAUTHENTICATED``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.console.models import ConsoleSession, csrf_aad
from gateway.crypto import DecryptionError, FieldCipher
from gateway.db import as_utc
from gateway.errors import Unauthenticated
from gateway.staff import StaffAccounts, StaffMember

__all__ = [
    "ConsoleSessions",
    "LiveSession",
    "PasswordChanges",
    "SignInRequired",
    "StartedSession",
    "Timeouts",
    "csrf_matches",
    "new_session_token",
    "session_digest",
    "well_formed",
]

PREFIX = "gcs_"
_TOKEN = re.compile(r"gcs_[A-Za-z0-9_-]{43}")

PasswordChanges = Callable[[str], Awaitable[datetime | None]]
"""When a member's password last changed (None: never, or not known), by staff id."""


class SignInRequired(Unauthenticated):
    """No live console session: missing, malformed, unknown, ended, expired or its member's."""

    default_message = "Sign in to the console: the session is missing, ended or expired."


def new_session_token() -> str:
    """A fresh session value: ``gcs_`` + 32 random bytes in base64url (43 characters)."""
    return PREFIX + secrets.token_urlsafe(32)


def well_formed(token: str) -> bool:
    """Whether ``token`` has the shape of a session value (checked before any lookup)."""
    return bool(_TOKEN.fullmatch(token))


def session_digest(token: str) -> str:
    """What is stored and looked up: the SHA-256 hex of the session value."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_matches(presented: str | None, expected: str) -> bool:
    """Whether the presented CSRF token is the session's (compared in constant time)."""
    if not presented:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long a session lives without activity, at most, and when the page warns."""

    idle: timedelta
    lifetime: timedelta
    warning: timedelta

    def idle_end(self, now: datetime, expires_at: datetime) -> datetime:
        """The idle end of activity at ``now``: ``now + idle``, never after ``expires_at``."""
        return min(now + self.idle, expires_at)


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A resolved session: its member (as the accounts see them now) and its ends."""

    token_hash: str
    member: StaffMember
    csrf_token: str
    created_at: datetime
    idle_expires_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class StartedSession:
    """A new session: the cookie value (shown once) and the session."""

    token: str
    session: LiveSession


class ConsoleSessions:
    """Starts, resolves and ends console sessions (see the module docstring)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        accounts: StaffAccounts,
        cipher: FieldCipher,
        clock: Clock,
        *,
        timeouts: Timeouts,
        password_changes: PasswordChanges | None = None,
    ) -> None:
        self._sessions = sessions
        self._accounts = accounts
        self._cipher = cipher
        self._clock = clock
        self.timeouts = timeouts
        self._password_changes = password_changes

    async def start(self, member: StaffMember, *, replacing: str | None = None) -> StartedSession:
        """A new session for ``member``; ends ``replacing`` (the cookie the browser still sent) and
        deletes every session past its idle end."""
        now = self._clock.now()
        token = new_session_token()
        digest = session_digest(token)
        csrf = secrets.token_urlsafe(32)
        expires_at = now + self.timeouts.lifetime
        idle_expires_at = self.timeouts.idle_end(now, expires_at)
        async with self._sessions() as session, session.begin():
            await session.exec(sa.delete(ConsoleSession).where(col(ConsoleSession.idle_expires_at) <= now))
            if replacing and well_formed(replacing):
                await session.exec(
                    sa.delete(ConsoleSession).where(
                        col(ConsoleSession.token_hash) == session_digest(replacing)
                    )
                )
            session.add(
                ConsoleSession(
                    token_hash=digest,
                    staff_id=member.id,
                    tenant_id=member.tenant_id,
                    csrf_cipher=self._cipher.encrypt(csrf, aad=csrf_aad(member.tenant_id, digest)),
                    created_at=now,
                    last_seen_at=now,
                    idle_expires_at=idle_expires_at,
                    expires_at=expires_at,
                )
            )
        return StartedSession(token, LiveSession(digest, member, csrf, now, idle_expires_at, expires_at))

    async def resolve(self, token: str | None, *, touch: bool = False) -> LiveSession:
        """The live session of a cookie value; ``touch`` counts the request as activity.

        :raises SignInRequired: no live session (a dead one is deleted).
        """
        if not token or not well_formed(token):
            raise SignInRequired()
        digest = session_digest(token)
        async with self._sessions() as session:
            row = await session.get(ConsoleSession, digest)
        if row is None:
            raise SignInRequired()
        live = await self._alive(row)
        if live is None:
            await self._delete(digest)
            raise SignInRequired()
        return await self.touch(live) if touch else live

    async def touch(self, live: LiveSession) -> LiveSession:
        """Count activity now: the idle end moves (never past the absolute end).

        :raises SignInRequired: the session ended meanwhile.
        """
        now = self._clock.now()
        idle_expires_at = self.timeouts.idle_end(now, live.expires_at)
        async with self._sessions() as session, session.begin():
            moved = await session.exec(
                sa.update(ConsoleSession)
                .where(col(ConsoleSession.token_hash) == live.token_hash)
                .values(last_seen_at=now, idle_expires_at=idle_expires_at)
            )
        if moved.rowcount != 1:
            raise SignInRequired()
        return LiveSession(
            live.token_hash, live.member, live.csrf_token, live.created_at, idle_expires_at, live.expires_at
        )

    async def end(self, live: LiveSession) -> None:
        """Sign out: the session is deleted, its cookie value never works again."""
        await self._delete(live.token_hash)

    async def end_all(self, staff_id: str) -> int:
        """End every session of a member; how many there were."""
        async with self._sessions() as session, session.begin():
            result = await session.exec(
                sa.delete(ConsoleSession).where(col(ConsoleSession.staff_id) == staff_id)
            )
        return int(result.rowcount or 0)

    async def _alive(self, row: ConsoleSession) -> LiveSession | None:
        now = self._clock.now()
        idle_expires_at = as_utc(row.idle_expires_at)
        expires_at = as_utc(row.expires_at)
        created_at = as_utc(row.created_at)
        if now >= idle_expires_at or now >= expires_at:
            return None
        member = await self._accounts.get(row.staff_id)
        if member is None or member.disabled or member.tenant_id != row.tenant_id:
            return None
        if self._password_changes is not None:
            changed = await self._password_changes(member.id)
            if changed is not None and as_utc(changed) > created_at:
                return None
        try:
            csrf = self._cipher.decrypt(row.csrf_cipher, aad=csrf_aad(row.tenant_id, row.token_hash))
        except DecryptionError:
            return None
        return LiveSession(row.token_hash, member, csrf, created_at, idle_expires_at, expires_at)

    async def _delete(self, digest: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.exec(sa.delete(ConsoleSession).where(col(ConsoleSession.token_hash) == digest))
