"""The operator transport's circuit breaker seen through an adapter: what counts, what is refused,
and that a refused call sends nothing and surfaces as CarrierUnavailable with its Retry-After.

The breaker wraps the in-memory transport, which fails as the production one does."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY

from carrier_adapters import (
    CarrierProtocolError,
    CarrierTimeout,
    CarrierUnavailable,
    CircuitOpen,
    CmccAdapter,
    OperatorConfig,
    Transport,
    dropped,
    refused,
)
from carrier_adapters.testing import Answer, FakeTransport, Request, answer
from gateway.circuit import CircuitPolicy, CircuitState, OperatorCircuits
from gateway.errors import Unavailable, from_carrier_error
from gateway.outbound import GuardedTransport, _publish_state
from tests.clocks import ManualMonotonic

ROOT = "http://operator.test"
LOGIN = "/cmcc/unisdk/rsapi/loginTokenValidate"
TOKEN = "STsid" + "ab" * 16
COOLDOWN = 30.0


@pytest.fixture
def fake() -> FakeTransport:
    """The in-memory transport standing for the operator's network."""
    return FakeTransport()


@pytest.fixture
def clock() -> ManualMonotonic:
    """The breakers' clock."""
    return ManualMonotonic(50.0)


@pytest.fixture
async def client(fake: FakeTransport, clock: ManualMonotonic) -> AsyncIterator[GuardedTransport]:
    """The production guard with breakers (threshold 2), over the in-memory transport."""
    circuits = OperatorCircuits(
        CircuitPolicy(failure_threshold=2, cooldown_seconds=COOLDOWN), clock=clock, listener=_publish_state
    )
    guarded = GuardedTransport(fake, circuits)
    yield guarded
    await guarded.aclose()
    assert fake.closed


def _adapter(transport: Transport, timeout: float = 3.0) -> CmccAdapter:
    config = OperatorConfig(
        operator="cmcc", base_url=f"{ROOT}/cmcc", app_id="app", app_key="K" * 32, timeout=timeout
    )
    return CmccAdapter(config, transport)


def _gauge() -> float | None:
    return REGISTRY.get_sample_value("gateway_operator_circuit_open", {"operator": "cmcc"})


def _calls(outcome: str) -> float:
    labels = {"operator": "cmcc", "endpoint": LOGIN, "outcome": outcome}
    return REGISTRY.get_sample_value("gateway_operator_call_seconds_count", labels) or 0.0


def _short_circuited() -> float:
    return _calls("circuit_open")


def _circuit(client: GuardedTransport) -> CircuitState:
    assert client.circuits is not None
    return client.circuits["cmcc"].state


async def test_open_circuit_sends_nothing_and_reports_unavailable_with_retry_after(
    client: GuardedTransport, fake: FakeTransport, clock: ManualMonotonic
) -> None:
    """After `threshold` HTTP 5xx the next call raises CarrierUnavailable without reaching the
    operator; it carries the cooldown left, which the API renders as 503 with Retry-After."""
    route = fake.on_post(LOGIN).respond(503, text="busy")
    adapter = _adapter(client)
    for _ in range(2):
        with pytest.raises(CarrierUnavailable):
            await adapter.exchange_login(TOKEN)
    before = _short_circuited()
    clock.now += 12.5

    with pytest.raises(CarrierUnavailable) as caught:
        await adapter.exchange_login(TOKEN)

    assert route.call_count == 2
    assert isinstance(caught.value, CircuitOpen)
    assert caught.value.retry_after == pytest.approx(COOLDOWN - 12.5)
    assert _short_circuited() == before + 1
    assert _gauge() == 1.0
    error = from_carrier_error(caught.value)
    assert isinstance(error, Unavailable)
    assert (error.status, error.code, error.headers) == (503, "UNAVAILABLE", {"Retry-After": "18"})


async def test_dropped_and_refused_connections_count_as_failures(
    client: GuardedTransport, fake: FakeTransport
) -> None:
    """A dropped connection and refused connections (retried once) are failures that open the circuit."""
    route = fake.on_post(LOGIN).sequence(dropped, refused, refused)
    adapter = _adapter(client)
    for _ in range(2):
        with pytest.raises(CarrierUnavailable):
            await adapter.exchange_login(TOKEN)

    assert route.call_count == 2
    assert _circuit(client) is CircuitState.OPEN


async def test_operator_answers_other_than_5xx_do_not_open(
    client: GuardedTransport, fake: FakeTransport
) -> None:
    """HTTP 4xx is an answer: however many, the circuit stays closed and every call is sent."""
    route = fake.on_post(LOGIN).respond(400, text="bad")
    adapter = _adapter(client)
    for _ in range(5):
        with pytest.raises(CarrierProtocolError):
            await adapter.exchange_login(TOKEN)

    assert route.call_count == 5
    assert _circuit(client) is CircuitState.CLOSED


async def test_timeouts_at_the_whole_call_deadline_count_as_failures(
    client: GuardedTransport, fake: FakeTransport
) -> None:
    """A call the transport times out at its deadline (the operator is slow) is a failure, observed
    as a ``timeout``."""

    async def stall(request: Request) -> Answer:
        await asyncio.sleep(5)
        return answer(200)

    fake.on_post(LOGIN).handle(stall)
    adapter = _adapter(client, timeout=0.1)
    before = _calls("timeout")
    for _ in range(2):
        with pytest.raises(CarrierTimeout):
            await adapter.exchange_login(TOKEN)

    assert _calls("timeout") == before + 2

    assert _circuit(client) is CircuitState.OPEN


async def test_calls_cancelled_early_by_their_caller_do_not_count(
    client: GuardedTransport, fake: FakeTransport
) -> None:
    """A call cancelled well before its deadline (the caller went away) is neither success nor failure."""
    started = asyncio.Event()

    async def stall(request: Request) -> Answer:
        started.set()
        await asyncio.sleep(5)
        return answer(200)

    fake.on_post(LOGIN).handle(stall)
    adapter = _adapter(client, timeout=3.0)
    for _ in range(3):
        started.clear()
        task = asyncio.create_task(adapter.exchange_login(TOKEN))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    assert _circuit(client) is CircuitState.CLOSED


async def test_after_the_cooldown_a_successful_probe_closes(
    client: GuardedTransport, fake: FakeTransport, clock: ManualMonotonic
) -> None:
    """Once the cooldown passed, the next call goes to the operator; its success closes the circuit
    and the gauge returns to 0."""
    route = fake.on_post(LOGIN).sequence(answer(500), answer(500), answer(400))
    adapter = _adapter(client)
    for _ in range(2):
        with pytest.raises(CarrierUnavailable):
            await adapter.exchange_login(TOKEN)
    assert _gauge() == 1.0
    clock.now += COOLDOWN

    with pytest.raises(CarrierProtocolError):
        await adapter.exchange_login(TOKEN)

    assert route.call_count == 3
    assert _circuit(client) is CircuitState.CLOSED
    assert _gauge() == 0.0


async def test_the_readiness_ping_bypasses_the_breakers(
    client: GuardedTransport, fake: FakeTransport
) -> None:
    """The readiness ping (a GET) is sent even while the operator's circuit is open."""
    fake.on_post(LOGIN).respond(502)
    ping = fake.on_get("/cmcc").respond(200)
    adapter = _adapter(client)
    for _ in range(2):
        with pytest.raises(CarrierUnavailable):
            await adapter.exchange_login(TOKEN)

    assert await adapter.ping()
    assert ping.call_count == 1


async def test_circuit_open_from_the_transport_is_not_retried(fake: FakeTransport) -> None:
    """The adapters' one retry after a refused connection is not spent on CircuitOpen: one attempt,
    and the transport's retry_after is carried on CarrierUnavailable."""
    route = fake.on_post(LOGIN).fail(lambda operator: CircuitOpen(operator, retry_after=4.2))

    with pytest.raises(CarrierUnavailable) as caught:
        await _adapter(fake).exchange_login(TOKEN)

    assert route.call_count == 1
    assert caught.value.retry_after == 4.2
    assert from_carrier_error(caught.value).headers == {"Retry-After": "5"}


def test_unavailable_without_retry_after_has_no_header() -> None:
    """An ordinary CarrierUnavailable (no known return time) renders without Retry-After."""
    error = from_carrier_error(CarrierUnavailable("cmcc", "down"))
    assert (error.status, error.headers) == (503, {})
