"""LoginCheckService over fakes: every observation, every operator failure failing closed, throttling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from carrier_adapters import (
    CarrierProtocolError,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
    LineNotEligible,
    NumberNotServed,
    SwapHistory,
    VerifyResult,
)
from carrier_adapters.testing import FakeExchanger
from gateway.crypto import BlindIndex, FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.login_check.devices import DeviceRegistry
from gateway.login_check.policy import Assessment, Checks, Decision, Reason, Thresholds
from gateway.login_check.service import LoginCheckService, SwapHistorySource, swap_sources
from gateway.login_check.thresholds import ThresholdStore
from gateway.one_tap.ledger import UsageLedger
from gateway.one_tap.models import UsageRecord
from gateway.one_tap.service import OneTapService
from gateway.ratelimit import InMemoryRateLimiter
from gateway.replay import InMemoryReplayCache
from gateway.tenants.service import TenantService
from tests.clocks import ManualClock
from tests.unit.login_check.fakes import FakeLines, carrier_error

PHONE = "+8613800138000"
DEVICE = "device-A"
DEFAULTS = Thresholds(
    sim_swap_max_age_hours=72,
    device_swap_max_age_hours=72,
    attempts_per_number=100,
    attempts_per_device=100,
    attempts_per_ip=100,
    window_seconds=600,
)
R = Reason


@dataclass
class Harness:
    """The service over fake operators, a manual clock and a throwaway SQLite file."""

    service: LoginCheckService
    exchangers: dict[str, FakeExchanger]
    lines: dict[str, FakeLines]
    clock: ManualClock
    tenant_id: str
    engine: AsyncEngine

    async def evaluate(self, token: str | None = None, **kwargs: object) -> Assessment:
        """Evaluate a login of PHONE on DEVICE unless told otherwise."""
        args: dict[str, object] = {"phone_number": PHONE, "device_id": DEVICE, "one_tap_token": token}
        args.update(kwargs)
        return await self.service.evaluate(tenant_id=self.tenant_id, **args)  # type: ignore[arg-type]

    async def bind(self, phone: str = PHONE, device: str = DEVICE) -> None:
        """Register ``device`` for ``phone``."""
        await self.service.devices.bind(
            tenant_id=self.tenant_id, phone_number=phone, device_id=device, label=None
        )

    def token(self, phone: str = PHONE, operator: str = "cmcc", **kwargs: object) -> str:
        """A local-number-check token minted on ``phone``."""
        return self.exchangers[operator].issue(phone, purpose="verify", **kwargs)  # type: ignore[arg-type]

    def ago(self, hours: float) -> datetime:
        """An instant ``hours`` before now."""
        return self.clock.now() - timedelta(hours=hours)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    engine = create_engine(f"sqlite:///{tmp_path}/unit.db")
    await migrate(engine)
    sessions = session_factory(engine)
    clock = ManualClock()
    tenant = await TenantService(sessions, clock).create(
        name="bank", scopes=["login-check"], redirect_uris=[]
    )
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    index = BlindIndex(Keyring.parse(generate_keyring_spec()))
    exchangers = {op: FakeExchanger(op) for op in ("cmcc", "cucc", "ctcc")}
    lines = {op: FakeLines(op) for op in ("cmcc", "cucc")}
    ledger = UsageLedger(engine)
    one_tap = OneTapService(
        exchangers=exchangers,
        replay=InMemoryReplayCache(clock),
        ledger=ledger,
        cipher=cipher,
        index=index,
        clock=clock,
    )
    service = LoginCheckService(
        verifier=one_tap,
        lines=lines,
        devices=DeviceRegistry(engine, cipher=cipher, index=index, clock=clock, max_per_number=5),
        thresholds=ThresholdStore(sessions, defaults=DEFAULTS, clock=clock),
        limiter=InMemoryRateLimiter(clock),
        index=index,
        clock=clock,
    )
    async with ledger:
        yield Harness(service, exchangers, lines, clock, tenant.tenant_id, engine)
    await engine.dispose()


async def test_clean_login_on_a_known_device_is_allowed(harness: Harness) -> None:
    """Verified number, no recent swaps, bound device: allow with every check clean."""
    await harness.bind()
    harness.lines["cmcc"].set_history(
        PHONE, sim_changed_at=harness.ago(1000), device_changed_at=harness.ago(500)
    )
    result = await harness.evaluate(harness.token())
    assert result.decision is Decision.ALLOW and result.reasons == ()
    assert result.checks == Checks(True, False, False, True)


async def test_without_a_token_the_number_check_is_null_and_nothing_is_spent(harness: Harness) -> None:
    """No one-tap token: numberVerified is null, no operator token call, and that alone is no reason."""
    await harness.bind()
    result = await harness.evaluate()
    assert result.decision is Decision.ALLOW
    assert result.checks.number_verified is None
    assert harness.exchangers["cmcc"].calls == []


async def test_token_of_another_phone_is_a_number_mismatch(harness: Harness) -> None:
    """REJECT from the operator: numberVerified false, NUMBER_MISMATCH, deny even on a known device."""
    await harness.bind()
    result = await harness.evaluate(harness.token("+8613900139000"))
    assert result.decision is Decision.DENY and result.reasons == (R.NUMBER_MISMATCH,)
    assert result.checks.number_verified is False


async def test_token_of_a_phone_on_another_operator_is_a_mismatch(harness: Harness) -> None:
    """A cucc phone's token for a cmcc number cannot come from the number's holder."""
    await harness.bind()
    result = await harness.evaluate(harness.token("+8618600186000", "cucc"))
    assert R.NUMBER_MISMATCH in result.reasons and result.decision is Decision.DENY


async def test_unknown_verdict_is_number_not_verified(harness: Harness) -> None:
    """UNKNOWN from the operator: numberVerified null, NUMBER_NOT_VERIFIED, challenge."""
    await harness.bind()
    result = await harness.evaluate(harness.token(verify_result=VerifyResult.UNKNOWN))
    assert result.decision is Decision.CHALLENGE and result.reasons == (R.NUMBER_NOT_VERIFIED,)
    assert result.checks.number_verified is None


@pytest.mark.parametrize("kind", ["reused", "garbage", "login-purpose"])
async def test_invalid_token_never_allows(harness: Harness, kind: str) -> None:
    """A reused, unrecognised or wrong-purpose token: numberVerified false, TOKEN_INVALID, challenge."""
    await harness.bind()
    if kind == "reused":
        token = harness.token()
        await harness.evaluate(token)
    elif kind == "garbage":
        token = "not-a-token"
    else:
        token = harness.exchangers["cmcc"].issue(PHONE, purpose="login")
    result = await harness.evaluate(token)
    assert result.decision is Decision.CHALLENGE and result.reasons == (R.TOKEN_INVALID,)
    assert result.checks.number_verified is False


async def test_the_number_check_leaves_a_usage_row(harness: Harness) -> None:
    """Spending the token inside a login check is recorded like a one-tap verify."""
    await harness.evaluate(harness.token())
    async with session_factory(harness.engine)() as session:
        rows = list(await session.exec(select(UsageRecord)))
    assert [(r.capability, r.result) for r in rows] == [("one_tap_verify", "PASS")]


async def test_recent_sim_swap_on_a_known_device_is_a_challenge(harness: Harness) -> None:
    """A SIM change inside the threshold: simSwapped true, challenge."""
    await harness.bind()
    harness.lines["cmcc"].set_history(PHONE, sim_changed_at=harness.ago(5))
    result = await harness.evaluate(harness.token())
    assert result.decision is Decision.CHALLENGE and result.reasons == (R.SIM_SWAPPED_RECENTLY,)
    assert result.checks.sim_swapped is True


async def test_recent_sim_swap_on_a_new_device_is_denied(harness: Harness) -> None:
    """The account-takeover pattern: new SIM and an unknown device together deny."""
    harness.lines["cmcc"].set_history(PHONE, sim_changed_at=harness.ago(5))
    result = await harness.evaluate(harness.token())
    assert result.decision is Decision.DENY
    assert result.reasons == (R.SIM_SWAPPED_RECENTLY, R.NEW_DEVICE)
    assert result.checks.device_known is False


async def test_recent_device_swap_is_a_challenge(harness: Harness) -> None:
    """A handset change inside the threshold: deviceSwapped true, challenge."""
    await harness.bind()
    harness.lines["cmcc"].set_history(PHONE, device_changed_at=harness.ago(2))
    result = await harness.evaluate()
    assert result.decision is Decision.CHALLENGE and result.reasons == (R.DEVICE_SWAPPED_RECENTLY,)


async def test_unbound_device_is_new(harness: Harness) -> None:
    """A device bound to another number does not count for this one."""
    await harness.bind(phone="+8613700137000")
    result = await harness.evaluate()
    assert result.reasons == (R.NEW_DEVICE,) and result.checks.device_known is False


async def test_request_max_age_overrides_the_tenant_default(harness: Harness) -> None:
    """A SIM change 100 h ago is old for the 72 h default and recent for maxSimSwapAge=120."""
    await harness.bind()
    harness.lines["cmcc"].set_history(PHONE, sim_changed_at=harness.ago(100))
    assert (await harness.evaluate()).checks.sim_swapped is False
    assert (await harness.evaluate(max_sim_swap_age_hours=120)).checks.sim_swapped is True


async def test_tenant_thresholds_apply(harness: Harness) -> None:
    """The tenant's own device threshold replaces the gateway default."""
    await harness.bind()
    harness.lines["cmcc"].set_history(PHONE, device_changed_at=harness.ago(48))
    assert (await harness.evaluate()).checks.device_swapped is True
    await harness.service.thresholds.put(
        harness.tenant_id,
        Thresholds(72, 24, DEFAULTS.attempts_per_number, DEFAULTS.attempts_per_device, 100, 600),
    )
    assert (await harness.evaluate()).checks.device_swapped is False


FAILURES = [
    carrier_error(CarrierUnavailable),
    carrier_error(CarrierTimeout),
    carrier_error(CarrierProtocolError),
    carrier_error(CarrierRejected),
    RuntimeError("adapter bug"),
]


@pytest.mark.parametrize("kind", ["sim", "device"])
@pytest.mark.parametrize("error", FAILURES, ids=lambda e: type(e).__name__)
async def test_history_failure_fails_closed(harness: Harness, kind: str, error: Exception) -> None:
    """Any failure of a history call: that check is null, OPERATOR_UNAVAILABLE, challenge, still answered."""
    await harness.bind()
    harness.lines["cmcc"].fail(kind, error)
    result = await harness.evaluate(harness.token())
    assert result.decision is Decision.CHALLENGE and result.reasons == (R.OPERATOR_UNAVAILABLE,)
    swapped = result.checks.sim_swapped if kind == "sim" else result.checks.device_swapped
    other = result.checks.device_swapped if kind == "sim" else result.checks.sim_swapped
    assert swapped is None and other is False and result.checks.number_verified is True


@pytest.mark.parametrize("error", FAILURES[:4], ids=lambda e: type(e).__name__)
async def test_number_check_failure_fails_closed(harness: Harness, error: Exception) -> None:
    """Any operator failure of the token check: numberVerified null, OPERATOR_UNAVAILABLE, challenge."""
    await harness.bind()
    harness.exchangers["cmcc"].fail_next(error)  # type: ignore[arg-type]
    result = await harness.evaluate(harness.token())
    assert result.decision is Decision.CHALLENGE and result.reasons == (R.OPERATOR_UNAVAILABLE,)
    assert result.checks.number_verified is None


async def test_operator_down_everywhere_on_a_new_device_is_still_only_a_challenge(harness: Harness) -> None:
    """With nothing known, the answer is a challenge (never allow, no deny without evidence)."""
    harness.exchangers["cmcc"].fail_next(carrier_error(CarrierUnavailable))
    harness.lines["cmcc"].fail("sim", carrier_error(CarrierUnavailable))
    harness.lines["cmcc"].fail("device", carrier_error(CarrierUnavailable))
    result = await harness.evaluate(harness.token())
    assert result.decision is Decision.CHALLENGE
    assert result.reasons == (R.NEW_DEVICE, R.OPERATOR_UNAVAILABLE)
    assert result.checks == Checks(None, None, None, False)


async def test_operator_without_swap_history_counts_as_unavailable(harness: Harness) -> None:
    """A configured one-tap operator that offers no histories (ctcc here) fails closed."""
    phone = "+8618900189000"
    await harness.bind(phone=phone)
    result = await harness.evaluate(phone_number=phone)
    assert result.reasons == (R.OPERATOR_UNAVAILABLE,)
    assert result.checks.sim_swapped is None and result.checks.device_swapped is None


async def test_number_unknown_to_the_operator_is_not_served(harness: Harness) -> None:
    """NumberNotServed from the histories: swap checks null, NUMBER_NOT_SERVED, challenge."""
    await harness.bind()
    harness.lines["cmcc"].fail("sim", carrier_error(NumberNotServed))
    harness.lines["cmcc"].fail("device", carrier_error(NumberNotServed))
    result = await harness.evaluate()
    assert result.decision is Decision.CHALLENGE and result.reasons == (R.NUMBER_NOT_SERVED,)


async def test_number_outside_every_operator_is_not_served(harness: Harness) -> None:
    """A number no configured operator's range holds is not served, and no operator is asked."""
    phone = "+4915112345678"
    await harness.bind(phone=phone)
    result = await harness.evaluate(phone_number=phone)
    assert result.reasons == (R.NUMBER_NOT_SERVED,)
    assert harness.lines["cmcc"].calls == [] and harness.lines["cucc"].calls == []


async def test_line_not_eligible_and_unknown_device_history_are_unknown(harness: Harness) -> None:
    """A line not served for swap data, or never seen in a device: null check, SWAP_STATUS_UNKNOWN."""
    await harness.bind()
    harness.lines["cmcc"].set_history(PHONE, device_known=False)
    harness.lines["cmcc"].fail("sim", carrier_error(LineNotEligible))
    result = await harness.evaluate()
    assert result.decision is Decision.CHALLENGE and result.reasons == (R.SWAP_STATUS_UNKNOWN,)
    assert result.checks.sim_swapped is None and result.checks.device_swapped is None


async def test_declared_operator_is_asked_for_the_histories(harness: Harness) -> None:
    """A number ported to cucc (range says cmcc): the declared operator is the one asked."""
    await harness.bind()
    await harness.evaluate(operator="cucc")
    assert harness.lines["cmcc"].calls == []
    assert sorted(harness.lines["cucc"].calls) == [("device", PHONE), ("sim", PHONE)]


async def test_operator_calls_run_concurrently(harness: Harness) -> None:
    """The token check and both histories are in flight at the same time."""
    started: list[str] = []
    everyone = asyncio.Event()

    async def rendezvous(name: str) -> None:
        started.append(name)
        if len(started) == 3:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), timeout=2)

    class Waiting(FakeLines):
        async def sim_history(self, phone_number: str) -> SwapHistory:
            await rendezvous("sim")
            return await super().sim_history(phone_number)

        async def device_history(self, phone_number: str) -> SwapHistory:
            await rendezvous("device")
            return await super().device_history(phone_number)

    class WaitingExchanger(FakeExchanger):
        async def verify_number(self, token: str, phone_number: str):  # type: ignore[no-untyped-def]
            await rendezvous("number")
            return await super().verify_number(token, phone_number)

    harness.lines["cmcc"] = Waiting("cmcc")
    verifier = WaitingExchanger("cmcc")
    harness.exchangers["cmcc"] = verifier
    harness.service._verifier._exchangers = {"cmcc": verifier}  # type: ignore[attr-defined]
    harness.service._lines = harness.lines
    await harness.bind()
    result = await harness.evaluate(verifier.issue(PHONE, purpose="verify"))
    assert result.decision is Decision.ALLOW, result.reasons
    assert sorted(started) == ["device", "number", "sim"]


async def test_attempts_per_number_are_limited_without_spending_tokens(harness: Harness) -> None:
    """Over the per-number limit: deny with TOO_MANY_ATTEMPTS, no operator call; the window reopens."""
    await harness.service.thresholds.put(harness.tenant_id, Thresholds(72, 72, 2, 100, 100, 60))
    await harness.bind()
    for device in ("d1", "d2"):
        assert R.TOO_MANY_ATTEMPTS not in (await harness.evaluate(device_id=device)).reasons
    harness.lines["cmcc"].calls.clear()
    token = harness.token()
    result = await harness.evaluate(token)
    assert result.decision is Decision.DENY and result.reasons == (R.TOO_MANY_ATTEMPTS,)
    assert result.checks == Checks(None, None, None, True)
    assert harness.exchangers["cmcc"].calls == [] and harness.lines["cmcc"].calls == []
    harness.clock.advance(61)
    assert (await harness.evaluate(token)).decision is Decision.ALLOW


async def test_attempts_per_device_are_limited_across_numbers(harness: Harness) -> None:
    """One device trying many numbers is throttled by its device id."""
    await harness.service.thresholds.put(harness.tenant_id, Thresholds(72, 72, 100, 2, 100, 60))
    answers = [await harness.evaluate(phone_number=f"+861380013800{n}") for n in range(3)]
    assert [R.TOO_MANY_ATTEMPTS in a.reasons for a in answers] == [False, False, True]


async def test_attempts_per_ip_are_limited_only_when_an_ip_is_given(harness: Harness) -> None:
    """The per-IP limit counts evaluations that carry that IP; others are not affected."""
    await harness.service.thresholds.put(harness.tenant_id, Thresholds(72, 72, 100, 100, 1, 60))
    first = await harness.evaluate(device_id="d1", ip="203.0.113.7")
    second = await harness.evaluate(device_id="d2", ip="203.0.113.7")
    other = await harness.evaluate(device_id="d3", ip="203.0.113.8")
    none = await harness.evaluate(device_id="d4")
    assert [R.TOO_MANY_ATTEMPTS in a.reasons for a in (first, second, other, none)] == [
        False,
        True,
        False,
        False,
    ]


async def test_attempt_counters_are_per_tenant(harness: Harness) -> None:
    """Another tenant's attempts on the same number do not count against this tenant."""
    await harness.service.thresholds.put(harness.tenant_id, Thresholds(72, 72, 1, 100, 100, 60))
    await harness.evaluate()
    result = await harness.service.evaluate(tenant_id="another-tenant", phone_number=PHONE, device_id=DEVICE)
    assert R.TOO_MANY_ATTEMPTS not in result.reasons


def test_swap_sources_keeps_only_operators_with_histories() -> None:
    """Operators without history calls are left out (then counted as unavailable)."""
    sources = swap_sources({"cmcc": FakeLines("cmcc"), "ctcc": object()})
    assert list(sources) == ["cmcc"] and isinstance(sources["cmcc"], SwapHistorySource)


async def test_carrier_fake_serves_as_history_source(harness: Harness) -> None:
    """The adapters' FakeExchanger, picked by swap_sources, feeds the swap checks like a real operator."""
    fake = harness.exchangers["cmcc"]
    fake.set_history(PHONE, sim=harness.ago(3), device=harness.ago(1000))
    harness.service._lines = swap_sources(harness.exchangers)
    await harness.bind()
    result = await harness.evaluate(harness.token())
    assert result.reasons == (R.SIM_SWAPPED_RECENTLY,)
    assert result.checks == Checks(True, True, False, True)
