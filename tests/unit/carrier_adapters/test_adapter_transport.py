"""Transport behaviour shared by every adapter: deadline, the one safe retry, HTTP status, garbage bodies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
import pytest
import respx

from carrier_adapters import (
    CarrierProtocolError,
    CarrierTimeout,
    CarrierUnavailable,
    CmccAdapter,
    CtccAdapter,
    CuccAdapter,
    OperatorConfig,
    VerifyResult,
)
from carrier_adapters._adapter import OperatorAdapter
from carrier_adapters._http import carrier_error

PHONE = "+8613800138000"
NATIONAL = "13800138000"


@dataclass(frozen=True)
class _Operator:
    adapter_class: type[OperatorAdapter]
    token: str
    login_path: str
    check_path: str
    check_pass: Callable[[httpx.Request], httpx.Response]


def _cmcc_pass(request: httpx.Request) -> httpx.Response:
    msg_id = json.loads(request.content)["header"]["msgId"]
    return httpx.Response(200, json={"header": {"msgId": msg_id, "resultCode": "000"}, "body": {}})


CMCC = _Operator(
    CmccAdapter,
    "STsid" + "ab" * 16,
    "/cmcc/unisdk/rsapi/loginTokenValidate",
    "/cmcc/openapi/rs/tokenValidate",
    _cmcc_pass,
)
CUCC = _Operator(
    CuccAdapter,
    "CUAT" + "Zz9_" * 10,
    "/cucc/openapi/netauth/v2/mobile",
    "/cucc/openapi/netauth/v2/verify",
    lambda request: httpx.Response(200, json={"code": "0000", "seqId": "s", "data": {"result": "1"}}),
)
CTCC = _Operator(
    CtccAdapter,
    "CTA0" + "cd" * 20,
    "/ctcc/openapi/networkauth/getMobile.do",
    "/ctcc/openapi/networkauth/verifyMobile.do",
    lambda request: httpx.Response(200, json={"result": 0, "reqId": "r", "data": {"isVerify": "1"}}),
)
OPERATORS = [pytest.param(CMCC, id="cmcc"), pytest.param(CUCC, id="cucc"), pytest.param(CTCC, id="ctcc")]
METHODS = ["login", "check"]


def _adapter(op: _Operator, client: httpx.AsyncClient, *, timeout: float = 3.0) -> OperatorAdapter:
    operator = op.adapter_class.OPERATOR
    config = OperatorConfig(
        operator=operator,
        base_url=f"http://operator.test/{operator}",
        app_id="app",
        app_key="K" * 32,
        timeout=timeout,
        connect_timeout=0.5,
    )
    return op.adapter_class(config, client)


def _path(op: _Operator, method: str) -> str:
    return op.login_path if method == "login" else op.check_path


def _call(adapter: OperatorAdapter, op: _Operator, method: str) -> Awaitable[object]:
    if method == "login":
        return adapter.exchange_login(op.token)
    return adapter.verify_number(op.token, PHONE)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_read_timeout_is_not_retried(
    op: _Operator,
    method: str,
    client: httpx.AsyncClient,
    router: respx.MockRouter,
    assert_no_leak: Callable[..., None],
) -> None:
    """A read timeout raises CarrierTimeout after exactly one request (the token may be spent)."""
    route = router.post(_path(op, method)).mock(side_effect=httpx.ReadTimeout("slow"))

    with pytest.raises(CarrierTimeout) as caught:
        await _call(_adapter(op, client), op, method)

    assert route.call_count == 1
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert_no_leak(caught.value, op.token, PHONE, NATIONAL)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_dropped_connection_is_not_retried(
    op: _Operator, method: str, client: httpx.AsyncClient, router: respx.MockRouter
) -> None:
    """A connection dropped after sending raises CarrierUnavailable after exactly one request."""
    route = router.post(_path(op, method)).mock(side_effect=httpx.RemoteProtocolError("closed"))

    with pytest.raises(CarrierUnavailable):
        await _call(_adapter(op, client), op, method)

    assert route.call_count == 1


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_refused_connection_is_retried_once(
    op: _Operator,
    method: str,
    client: httpx.AsyncClient,
    router: respx.MockRouter,
    assert_no_leak: Callable[..., None],
) -> None:
    """A refused connection is retried exactly once, then raises CarrierUnavailable."""
    route = router.post(_path(op, method)).mock(side_effect=httpx.ConnectError("refused"))

    with pytest.raises(CarrierUnavailable) as caught:
        await _call(_adapter(op, client), op, method)

    assert route.call_count == 2
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert_no_leak(caught.value, op.token, PHONE, NATIONAL)


@pytest.mark.parametrize("op", OPERATORS)
async def test_refused_then_answered_succeeds(
    op: _Operator, client: httpx.AsyncClient, router: respx.MockRouter
) -> None:
    """When the retry after a refused connection is answered, its answer is the result."""
    refusals = [httpx.ConnectError("refused")]

    def refuse_once(request: httpx.Request) -> httpx.Response:
        if refusals:
            raise refusals.pop()
        return op.check_pass(request)

    route = router.post(op.check_path).mock(side_effect=refuse_once)

    outcome = await _adapter(op, client).verify_number(op.token, PHONE)

    assert outcome.result is VerifyResult.PASS
    assert route.call_count == 2


async def _stall(request: httpx.Request) -> httpx.Response:
    await asyncio.sleep(2)
    return httpx.Response(200)


@pytest.mark.parametrize("op", OPERATORS)
async def test_whole_call_deadline(op: _Operator) -> None:
    """An answer slower than config.timeout raises CarrierTimeout, whatever the per-phase timeouts."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(_stall)) as stalling:
        with pytest.raises(CarrierTimeout):
            await _adapter(op, stalling, timeout=0.05).exchange_login(op.token)


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_http_5xx_is_unavailable(
    op: _Operator, method: str, status: int, client: httpx.AsyncClient, router: respx.MockRouter
) -> None:
    """HTTP 5xx (the sandbox's errorRate answers 500 with a non-JSON body) raises CarrierUnavailable, once."""
    route = router.post(_path(op, method)).respond(status, text="<html>internal error</html>")

    with pytest.raises(CarrierUnavailable):
        await _call(_adapter(op, client), op, method)

    assert route.call_count == 1


@pytest.mark.parametrize("status", [201, 302, 400, 404])
@pytest.mark.parametrize("op", OPERATORS)
async def test_other_http_status_is_protocol_error(
    op: _Operator, status: int, client: httpx.AsyncClient, router: respx.MockRouter
) -> None:
    """Operators answer HTTP 200 whatever the result, so any other non-5xx status is a protocol error."""
    router.post(op.login_path).respond(status, json={})

    with pytest.raises(CarrierProtocolError):
        await _adapter(op, client).exchange_login(op.token)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"",
        b"[]",
        b"null",
        b'{"unexpected": true}',
        b'{"truncated": ',
        "{\xff}".encode("latin-1"),
    ],
    ids=["text", "empty", "list", "null", "wrong-shape", "truncated", "bad-utf8"],
)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_garbage_body_is_protocol_error(
    op: _Operator,
    method: str,
    body: bytes,
    client: httpx.AsyncClient,
    router: respx.MockRouter,
    assert_no_leak: Callable[..., None],
) -> None:
    """A 200 answer that is not JSON, or JSON of the wrong shape, raises CarrierProtocolError."""
    router.post(_path(op, method)).respond(200, content=body)

    with pytest.raises(CarrierProtocolError) as caught:
        await _call(_adapter(op, client), op, method)

    assert_no_leak(caught.value, op.token, PHONE, NATIONAL)


async def test_garbage_echoing_secrets_leaks_nothing(
    client: httpx.AsyncClient, router: respx.MockRouter, assert_no_leak: Callable[..., None]
) -> None:
    """A malformed answer quoting the token and number does not carry them into the error or its traceback."""
    token = "CUAT" + "Q" * 40
    router.post("/cucc/openapi/netauth/v2/mobile").respond(
        200, json={"code": "0000", "seqId": "s", "data": {"mobile": int(NATIONAL), "authType": token}}
    )

    with pytest.raises(CarrierProtocolError) as caught:
        await _adapter(CUCC, client).exchange_login(token)

    assert_no_leak(caught.value, token, NATIONAL)


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("status", [200, 404, 500])
async def test_ping_true_on_any_http_answer(
    op: _Operator, status: int, client: httpx.AsyncClient, router: respx.MockRouter
) -> None:
    """ping() is True when the operator root answers HTTP, whatever the status."""
    operator = op.adapter_class.OPERATOR
    route = router.get(f"/{operator}").respond(status)

    assert await _adapter(op, client).ping() is True
    assert route.call_count == 1


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.ReadError("reset")]
)
async def test_ping_false_on_transport_failure(
    op: _Operator, failure: Exception, client: httpx.AsyncClient, router: respx.MockRouter
) -> None:
    """ping() is False, without raising, when the operator cannot be reached."""
    router.get(f"/{op.adapter_class.OPERATOR}").mock(side_effect=failure)

    assert await _adapter(op, client).ping() is False


async def test_ping_false_past_connect_timeout() -> None:
    """ping() gives up after the connect timeout even if the transport never times out by itself."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(_stall)) as stalling:
        assert await _adapter(CMCC, stalling).ping() is False


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ConnectError("x"), CarrierUnavailable),
        (httpx.ConnectTimeout("x"), CarrierTimeout),
        (httpx.ReadTimeout("x"), CarrierTimeout),
        (httpx.WriteTimeout("x"), CarrierTimeout),
        (httpx.PoolTimeout("x"), CarrierTimeout),
        (TimeoutError(), CarrierTimeout),
        (httpx.RemoteProtocolError("x"), CarrierUnavailable),
        (httpx.ReadError("x"), CarrierUnavailable),
        (httpx.WriteError("x"), CarrierUnavailable),
    ],
)
def test_carrier_error_of_each_transport_failure(raised: Exception, expected: type[Exception]) -> None:
    """Each httpx transport failure becomes exactly one carrier error class, of the operator."""
    error = carrier_error("cmcc", raised)

    assert type(error) is expected
    assert error is not None and error.operator == "cmcc"


def test_carrier_error_leaves_other_errors_alone() -> None:
    """Errors that are not transport failures have no carrier error (send lets them through)."""
    assert carrier_error("cmcc", ValueError("boom")) is None


def test_adapter_refuses_another_operators_config(client: httpx.AsyncClient) -> None:
    """An adapter built with another operator's configuration fails fast."""
    config = OperatorConfig(
        operator="cucc", base_url="http://operator.test/cucc", app_id="a", app_key="K" * 32
    )

    with pytest.raises(ValueError, match="cucc"):
        CmccAdapter(config, client)
