"""The operator client's circuit breaker seen through an adapter: what counts, what is refused, and
that a refused call sends nothing and surfaces as CarrierUnavailable with its Retry-After."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from prometheus_client import REGISTRY

from carrier_adapters import (
    CarrierProtocolError,
    CarrierTimeout,
    CarrierUnavailable,
    CircuitOpen,
    CmccAdapter,
    OperatorConfig,
)
from gateway.circuit import CircuitPolicy, CircuitState, OperatorCircuits
from gateway.errors import Unavailable, from_carrier_error
from gateway.outbound import OperatorClient, _publish_state
from tests.clocks import ManualMonotonic

ROOT = "http://operator.test"
LOGIN = "/cmcc/unisdk/rsapi/loginTokenValidate"
TOKEN = "STsid" + "ab" * 16
COOLDOWN = 30.0


@pytest.fixture
def router() -> respx.MockRouter:
    """A respx router for the fake operator (routes need not all be called)."""
    return respx.MockRouter(base_url=ROOT, assert_all_called=False, using=None)


@pytest.fixture
def clock() -> ManualMonotonic:
    """The breakers' clock."""
    return ManualMonotonic(50.0)


@pytest.fixture
async def client(router: respx.MockRouter, clock: ManualMonotonic) -> AsyncIterator[OperatorClient]:
    """The production operator client with breakers (threshold 2), over the respx router."""
    circuits = OperatorCircuits(
        CircuitPolicy(failure_threshold=2, cooldown_seconds=COOLDOWN), clock=clock, listener=_publish_state
    )
    async with OperatorClient(httpx.MockTransport(router.async_handler), circuits) as operator_client:
        yield operator_client


def _adapter(client: httpx.AsyncClient, timeout: float = 3.0) -> CmccAdapter:
    config = OperatorConfig(
        operator="cmcc", base_url=f"{ROOT}/cmcc", app_id="app", app_key="K" * 32, timeout=timeout
    )
    return CmccAdapter(config, client)


def _gauge() -> float | None:
    return REGISTRY.get_sample_value("gateway_operator_circuit_open", {"operator": "cmcc"})


def _short_circuited() -> float:
    labels = {"operator": "cmcc", "endpoint": LOGIN, "outcome": "circuit_open"}
    return REGISTRY.get_sample_value("gateway_operator_call_seconds_count", labels) or 0.0


def _circuit(client: OperatorClient) -> CircuitState:
    assert client.circuits is not None
    return client.circuits["cmcc"].state


async def test_open_circuit_sends_nothing_and_reports_unavailable_with_retry_after(
    client: OperatorClient, router: respx.MockRouter, clock: ManualMonotonic
) -> None:
    """After `threshold` HTTP 5xx the next call raises CarrierUnavailable without reaching the
    operator; it carries the cooldown left, which the API renders as 503 with Retry-After."""
    route = router.post(LOGIN).respond(503, text="busy")
    adapter = _adapter(client)
    for _ in range(2):
        with pytest.raises(CarrierUnavailable):
            await adapter.exchange_login(TOKEN)
    before = _short_circuited()
    clock.now += 12.5

    with pytest.raises(CarrierUnavailable) as caught:
        await adapter.exchange_login(TOKEN)

    assert route.call_count == 2
    assert isinstance(caught.value.__cause__, CircuitOpen)
    assert caught.value.retry_after == pytest.approx(COOLDOWN - 12.5)
    assert _short_circuited() == before + 1
    assert _gauge() == 1.0
    error = from_carrier_error(caught.value)
    assert isinstance(error, Unavailable)
    assert (error.status, error.code, error.headers) == (503, "UNAVAILABLE", {"Retry-After": "18"})


async def test_dropped_and_refused_connections_count_as_failures(
    client: OperatorClient, router: respx.MockRouter
) -> None:
    """A dropped connection and refused connections (retried once) are failures that open the circuit."""
    route = router.post(LOGIN).mock(
        side_effect=[httpx.RemoteProtocolError("closed"), httpx.ConnectError("no"), httpx.ConnectError("no")]
    )
    adapter = _adapter(client)
    for _ in range(2):
        with pytest.raises(CarrierUnavailable):
            await adapter.exchange_login(TOKEN)

    assert route.call_count == 2
    assert _circuit(client) is CircuitState.OPEN


async def test_operator_answers_other_than_5xx_do_not_open(
    client: OperatorClient, router: respx.MockRouter
) -> None:
    """HTTP 4xx is an answer: however many, the circuit stays closed and every call is sent."""
    route = router.post(LOGIN).respond(400, text="bad")
    adapter = _adapter(client)
    for _ in range(5):
        with pytest.raises(CarrierProtocolError):
            await adapter.exchange_login(TOKEN)

    assert route.call_count == 5
    assert _circuit(client) is CircuitState.CLOSED


async def test_timeouts_at_the_whole_call_deadline_count_as_failures(
    client: OperatorClient, router: respx.MockRouter
) -> None:
    """A call the adapter abandons at its deadline (the operator is slow) is a failure."""

    async def stall(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200)

    router.post(LOGIN).mock(side_effect=stall)
    adapter = _adapter(client, timeout=0.1)
    for _ in range(2):
        with pytest.raises(CarrierTimeout):
            await adapter.exchange_login(TOKEN)

    assert _circuit(client) is CircuitState.OPEN


async def test_calls_cancelled_early_by_their_caller_do_not_count(
    client: OperatorClient, router: respx.MockRouter
) -> None:
    """A call cancelled well before its deadline (the caller went away) is neither success nor failure."""
    started = asyncio.Event()

    async def stall(request: httpx.Request) -> httpx.Response:
        started.set()
        await asyncio.sleep(5)
        return httpx.Response(200)

    router.post(LOGIN).mock(side_effect=stall)
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
    client: OperatorClient, router: respx.MockRouter, clock: ManualMonotonic
) -> None:
    """Once the cooldown passed, the next call goes to the operator; its success closes the circuit
    and the gauge returns to 0."""
    answers = iter([httpx.Response(500), httpx.Response(500), httpx.Response(400)])
    route = router.post(LOGIN).mock(side_effect=lambda request: next(answers))
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


async def test_requests_without_an_operator_bypass_the_breakers(
    client: OperatorClient, router: respx.MockRouter
) -> None:
    """A request with no operator extension (the readiness ping) is sent even while circuits are open."""
    router.post(LOGIN).respond(502)
    ping = router.get("/cmcc").respond(200)
    adapter = _adapter(client)
    for _ in range(2):
        with pytest.raises(CarrierUnavailable):
            await adapter.exchange_login(TOKEN)

    assert await adapter.ping()
    assert ping.call_count == 1


async def test_circuit_open_from_the_client_is_not_retried(router: respx.MockRouter) -> None:
    """The adapters' one retry after ConnectError is not spent on CircuitOpen: one attempt, and the
    client's retry_after is carried on CarrierUnavailable."""
    attempts: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        raise CircuitOpen("circuit of cmcc is open", request=request, retry_after=4.2)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as refusing:
        with pytest.raises(CarrierUnavailable) as caught:
            await _adapter(refusing).exchange_login(TOKEN)

    assert len(attempts) == 1
    assert caught.value.retry_after == 4.2
    assert from_carrier_error(caught.value).headers == {"Retry-After": "5"}


def test_unavailable_without_retry_after_has_no_header() -> None:
    """An ordinary CarrierUnavailable (no known return time) renders without Retry-After."""
    error = from_carrier_error(CarrierUnavailable("cmcc", "down"))
    assert (error.status, error.headers) == (503, {})
