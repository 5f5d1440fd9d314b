"""Console sign-in (gateway.console.signin, .throttle) with in-memory accounts, audit and failure store:
the throttle's three keys, TOTP, and the audit entries of signing in and out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from gateway.console.sessions import ConsoleSessions, Timeouts
from gateway.console.signin import SignIn, SignInRefused
from gateway.console.throttle import SignInThrottle, Throttled
from gateway.crypto import FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.errors import TooManyRequests, TotpCodeRequired
from gateway.failure_backoff import InMemoryFailureBackoff
from gateway.staff import StaffMember
from tests.clocks import ManualClock
from tests.leaks import SENSITIVE
from tests.unit.console.fakes import FakeAccounts, FakeAudit, add_tenant

PASSWORD = "correct horse 9"
TIMEOUTS = Timeouts(idle=timedelta(minutes=15), lifetime=timedelta(hours=12), warning=timedelta(minutes=2))


@dataclass
class Env:
    sign_in: SignIn
    sessions: ConsoleSessions
    throttle: SignInThrottle
    accounts: FakeAccounts
    audit: FakeAudit
    clock: ManualClock
    teller: StaffMember
    tenant_id: str

    async def attempt(self, password: str, *, address: str = "198.51.100.7", username: str = "li.na") -> str:
        started = await self.sign_in.sign_in(username, password, None, address=address, replacing=None)
        SENSITIVE.add(started.token)
        return started.token


@pytest.fixture
async def env(sqlite_url: str) -> AsyncIterator[Env]:
    """Sign-in over a migrated SQLite database, with one teller (li.na) and an in-memory failure store."""
    engine = create_engine(sqlite_url)
    await migrate(engine)
    tenant_id = await add_tenant(engine)
    accounts, audit, clock = FakeAccounts(), FakeAudit(), ManualClock()
    teller = accounts.add(tenant_id, "li.na", PASSWORD)
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    sessions = ConsoleSessions(session_factory(engine), accounts, cipher, clock, timeouts=TIMEOUTS)
    throttle = SignInThrottle(InMemoryFailureBackoff(clock))
    try:
        sign_in = SignIn(accounts, sessions, throttle, audit)
        yield Env(sign_in, sessions, throttle, accounts, audit, clock, teller, tenant_id)
    finally:
        await engine.dispose()


async def test_right_credentials_sign_in_and_are_audited(env: Env) -> None:
    """The right password starts a session and records console.sign_in by the member."""
    await env.attempt(PASSWORD)
    [entry] = env.audit.recorded
    assert (entry.action, entry.staff_id, entry.tenant_id) == (
        "console.sign_in",
        env.teller.id,
        env.tenant_id,
    )


async def test_sign_out_is_audited(env: Env) -> None:
    """Signing out records console.sign_out by the member."""
    token = await env.attempt(PASSWORD)
    live = await env.sessions.resolve(token)
    await env.sign_in.sign_out(live)
    assert env.audit.actions() == ["console.sign_in", "console.sign_out"]


async def test_five_failures_per_username_and_address_then_a_block(env: Env) -> None:
    """Failures 1-5 from one address are plain 401s; the 6th starts a 1 s block, so the 7th attempt
    is 429 even with the right password; after the block the right password works and resets."""
    for _ in range(6):
        with pytest.raises(SignInRefused):
            await env.attempt("wrong")
    with pytest.raises(TooManyRequests) as blocked:
        await env.attempt(PASSWORD)
    assert blocked.value.headers == {"Retry-After": "1"}
    env.clock.advance(1)
    await env.attempt(PASSWORD)
    for _ in range(5):
        with pytest.raises(SignInRefused):
            await env.attempt("wrong")
    await env.attempt(PASSWORD)
    assert env.audit.actions() == ["console.sign_in", "console.sign_in"]


async def test_guesses_spread_over_addresses_still_slow_down(env: Env) -> None:
    """Ten failures from ten addresses are free; the 11th blocks the username from every address
    (a fresh one included), not other usernames."""
    env.accounts.add(env.tenant_id, "wang.wei", PASSWORD)
    for n in range(11):
        with pytest.raises(SignInRefused):
            await env.attempt("wrong", address=f"203.0.113.{n}")
    with pytest.raises(TooManyRequests):
        await env.attempt(PASSWORD, address="192.0.2.200")
    await env.attempt(PASSWORD, address="192.0.2.200", username="wang.wei")


async def test_the_username_key_ignores_case_and_spaces(env: Env) -> None:
    """Failures of `` Li.Na `` count against ``li.na``; another username is not blocked."""
    for n in range(11):
        await env.throttle.failed(" Li.Na ", f"203.0.113.{n}")
    with pytest.raises(Throttled):
        await env.throttle.check("li.na", "192.0.2.1")
    await env.throttle.check("wang.wei", "192.0.2.1")


async def test_totp_missing_is_asked_for_and_not_counted(env: Env) -> None:
    """An account with TOTP answers TOTP_REQUIRED to the right password without a code, as often as
    asked (never throttled); a wrong code is a counted failure; the right one signs in."""
    env.accounts.add(env.tenant_id, "zhao.min", PASSWORD, totp="123456")
    for _ in range(8):
        with pytest.raises(TotpCodeRequired) as asked:
            await env.sign_in.sign_in("zhao.min", PASSWORD, None, address="198.51.100.9", replacing=None)
    assert asked.value.status == 401 and asked.value.code == "TOTP_REQUIRED"
    with pytest.raises(SignInRefused):
        await env.sign_in.sign_in("zhao.min", PASSWORD, "654321", address="198.51.100.9", replacing=None)
    started = await env.sign_in.sign_in(
        "zhao.min", PASSWORD, "123456", address="198.51.100.9", replacing=None
    )
    SENSITIVE.add(started.token)
    assert started.session.member.username == "zhao.min"


async def test_a_disabled_account_is_the_generic_failure(env: Env) -> None:
    """A disabled member's right password is refused with the same 401 as a wrong one."""
    env.accounts.disable(env.teller.id)
    with pytest.raises(SignInRefused) as disabled:
        await env.attempt(PASSWORD)
    with pytest.raises(SignInRefused) as wrong:
        await env.attempt("wrong")
    assert disabled.value.body() == wrong.value.body()
    assert disabled.value.body()["code"] == "UNAUTHENTICATED"
