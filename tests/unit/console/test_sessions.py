"""Console sessions (gateway.console.sessions) on a real database (SQLite and PostgreSQL) with a hand-moved
clock: the cookie value's shape and digest, idle and absolute ends, what kills a session, CSRF compare."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from gateway.console.models import ConsoleSession
from gateway.console.sessions import (
    ConsoleSessions,
    SignInRequired,
    Timeouts,
    csrf_matches,
    new_session_token,
    session_digest,
    well_formed,
)
from gateway.crypto import FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.staff import StaffMember
from tests.clocks import ManualClock
from tests.leaks import SENSITIVE
from tests.unit.console.fakes import FakeAccounts, add_tenant

TIMEOUTS = Timeouts(idle=timedelta(minutes=15), lifetime=timedelta(hours=12), warning=timedelta(minutes=2))


@dataclass
class Env:
    sessions: ConsoleSessions
    accounts: FakeAccounts
    clock: ManualClock
    member: StaffMember
    engine: AsyncEngine

    async def start(self, member: StaffMember | None = None, *, replacing: str | None = None) -> str:
        started = await self.sessions.start(member or self.member, replacing=replacing)
        SENSITIVE.add(started.token)
        return started.token

    async def stored(self) -> list[ConsoleSession]:
        async with session_factory(self.engine)() as session:
            query = select(ConsoleSession).where(ConsoleSession.tenant_id == self.member.tenant_id)
            return list((await session.exec(query)).all())


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    """Sessions over a migrated database, a tenant with one teller, and a clock standing still."""
    engine = create_engine(database_url)
    await migrate(engine)
    tenant_id = await add_tenant(engine)
    accounts = FakeAccounts()
    member = accounts.add(tenant_id, "li.na@pingan", "correct horse 9")
    clock = ManualClock()
    sessions = ConsoleSessions(
        session_factory(engine),
        accounts,
        FieldCipher(Keyring.parse(generate_keyring_spec())),
        clock,
        timeouts=TIMEOUTS,
        password_changes=accounts.password_changed_at,
    )
    try:
        yield Env(sessions, accounts, clock, member, engine)
    finally:
        await engine.dispose()


def test_session_values_are_opaque_256_bit_and_unique() -> None:
    """``gcs_`` + 43 base64url characters (32 random bytes); no two alike; the stored form is the SHA-256."""
    tokens = {new_session_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in tokens:
        assert token.startswith("gcs_") and len(token) == 47 and well_formed(token)
    token = tokens.pop()
    assert session_digest(token) == hashlib.sha256(token.encode()).hexdigest()


@given(st.text(max_size=80))
def test_malformed_cookie_values_are_refused_before_lookup(text: str) -> None:
    """Exactly ``gcs_`` + 43 base64url characters is well formed; a flow session is not."""
    shaped = len(text) == 43 and all(c.isascii() and (c.isalnum() or c in "-_") for c in text)
    assert well_formed("gcs_" + text) is shaped
    assert not well_formed("fls_" + "a" * 43)


def test_csrf_tokens_compare_exactly() -> None:
    """Only the very token matches; missing, empty, prefix, longer or case-changed tokens do not."""
    expected = "Zx8-Q_" + "a" * 37
    assert csrf_matches(expected, expected)
    for presented in (None, "", expected[:-1], expected + "a", expected.upper(), " " + expected):
        assert not csrf_matches(presented, expected)


def test_the_idle_end_never_passes_the_absolute_end() -> None:
    """Activity moves the idle end to now + idle, capped at the session's absolute end."""
    clock = ManualClock()
    now = clock.now()
    assert TIMEOUTS.idle_end(now, now + timedelta(hours=1)) == now + timedelta(minutes=15)
    assert TIMEOUTS.idle_end(now, now + timedelta(minutes=5)) == now + timedelta(minutes=5)


async def test_a_session_lives_until_its_idle_end_without_activity(env: Env) -> None:
    """Resolving without activity keeps the idle end; one second before it the session lives, at it
    the session is dead and its row is gone."""
    token = await env.start()
    env.clock.advance(15 * 60 - 1)
    live = await env.sessions.resolve(token)
    assert live.member == env.member
    assert live.idle_expires_at == live.created_at + timedelta(minutes=15)
    env.clock.advance(1)
    with pytest.raises(SignInRequired):
        await env.sessions.resolve(token)
    assert await env.stored() == []


async def test_activity_moves_the_idle_end(env: Env) -> None:
    """A touch 10 minutes in gives 15 more minutes from then; the session outlives its first idle end."""
    token = await env.start()
    env.clock.advance(10 * 60)
    touched = await env.sessions.resolve(token, touch=True)
    assert touched.idle_expires_at == env.clock.now() + timedelta(minutes=15)
    env.clock.advance(14 * 60)
    assert (await env.sessions.resolve(token)).idle_expires_at == touched.idle_expires_at
    env.clock.advance(60)
    with pytest.raises(SignInRequired):
        await env.sessions.resolve(token)


async def test_the_absolute_end_holds_however_active(env: Env) -> None:
    """Touched every 10 minutes, a session still ends 12 hours after sign-in; its last idle end is
    the absolute end."""
    token = await env.start()
    started = env.clock.now()
    live = await env.sessions.resolve(token)
    for _ in range(12 * 6 - 1):
        env.clock.advance(10 * 60)
        live = await env.sessions.resolve(token, touch=True)
    assert live.idle_expires_at == live.expires_at == started + timedelta(hours=12)
    env.clock.advance(10 * 60)
    with pytest.raises(SignInRequired):
        await env.sessions.resolve(token, touch=True)


async def test_a_disabled_member_has_no_session(env: Env) -> None:
    """Disabling the member kills the session at its next request (and deletes it)."""
    token = await env.start()
    await env.sessions.resolve(token)
    env.accounts.disable(env.member.id)
    with pytest.raises(SignInRequired):
        await env.sessions.resolve(token)
    assert await env.stored() == []


async def test_a_password_change_kills_older_sessions_only(env: Env) -> None:
    """A session begun before the member's password changed is dead; one begun after lives."""
    before = await env.start()
    env.clock.advance(5)
    env.accounts.change_password(env.member.id, "another horse 10", env.clock.now())
    env.clock.advance(5)
    after = await env.start()
    with pytest.raises(SignInRequired):
        await env.sessions.resolve(before)
    assert (await env.sessions.resolve(after)).member.id == env.member.id


async def test_unknown_malformed_and_missing_values_are_one_generic_401(env: Env) -> None:
    """None, a malformed value and a well-formed unknown one all raise the same 401 body."""
    bodies = []
    for token in (None, "", "gcs_short", new_session_token()):
        with pytest.raises(SignInRequired) as caught:
            await env.sessions.resolve(token)
        bodies.append(caught.value.body())
    assert all(body == bodies[0] for body in bodies)
    assert bodies[0]["status"] == 401 and bodies[0]["code"] == "UNAUTHENTICATED"


async def test_only_digests_and_encrypted_csrf_tokens_are_stored(env: Env) -> None:
    """The row holds the SHA-256 of the cookie value and the CSRF token encrypted, neither in clear;
    resolving gives the same CSRF token back."""
    token = await env.start()
    live = await env.sessions.resolve(token)
    [row] = await env.stored()
    assert row.token_hash == session_digest(token) and token not in repr(row)
    assert live.csrf_token not in row.csrf_cipher
    assert (await env.sessions.resolve(token)).csrf_token == live.csrf_token


async def test_sign_in_again_replaces_the_browsers_old_session(env: Env) -> None:
    """Starting a session with the old cookie value ends that session; ending all of a member's works."""
    old = await env.start()
    new = await env.start(replacing=old)
    with pytest.raises(SignInRequired):
        await env.sessions.resolve(old)
    await env.sessions.resolve(new)
    other = await env.start()
    assert await env.sessions.end_all(env.member.id) == 2
    for token in (new, other):
        with pytest.raises(SignInRequired):
            await env.sessions.resolve(token)


async def test_sign_out_ends_the_session_on_the_server(env: Env) -> None:
    """After end(), the same cookie value is refused and a touch of the stale session fails."""
    token = await env.start()
    live = await env.sessions.resolve(token)
    await env.sessions.end(live)
    with pytest.raises(SignInRequired):
        await env.sessions.resolve(token)
    with pytest.raises(SignInRequired):
        await env.sessions.touch(live)


async def test_starting_a_session_clears_dead_ones(env: Env) -> None:
    """Rows past their idle end are deleted when anyone signs in."""
    await env.start()
    env.clock.advance(16 * 60)
    token = await env.start()
    assert [row.token_hash for row in await env.stored()] == [session_digest(token)]
