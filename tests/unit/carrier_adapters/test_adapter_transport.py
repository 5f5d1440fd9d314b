"""Transport behaviour shared by every adapter: deadline, the one safe retry, HTTP status, garbage bodies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from carrier_adapters import (
    CarrierError,
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
from carrier_adapters.testing import Answer, FakeTransport, Request, answer
from carrier_adapters.transport import dropped, refused, timed_out

PHONE = "+8613800138000"
NATIONAL = "13800138000"


@dataclass(frozen=True)
class _Operator:
    adapter_class: type[OperatorAdapter]
    token: str
    login_path: str
    check_path: str
    check_pass: Callable[[Request], Answer]


def _cmcc_pass(request: Request) -> Answer:
    msg_id = json.loads(request.content)["header"]["msgId"]
    return answer(200, json={"header": {"msgId": msg_id, "resultCode": "000"}, "body": {}})


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
    lambda request: answer(200, json={"code": "0000", "seqId": "s", "data": {"result": "1"}}),
)
CTCC = _Operator(
    CtccAdapter,
    "CTA0" + "cd" * 20,
    "/ctcc/openapi/networkauth/getMobile.do",
    "/ctcc/openapi/networkauth/verifyMobile.do",
    lambda request: answer(200, json={"result": 0, "reqId": "r", "data": {"isVerify": "1"}}),
)
OPERATORS = [pytest.param(CMCC, id="cmcc"), pytest.param(CUCC, id="cucc"), pytest.param(CTCC, id="ctcc")]
METHODS = ["login", "check"]


def _adapter(op: _Operator, transport: FakeTransport, *, timeout: float = 3.0) -> OperatorAdapter:
    operator = op.adapter_class.OPERATOR
    config = OperatorConfig(
        operator=operator,
        base_url=f"http://operator.test/{operator}",
        app_id="app",
        app_key="K" * 32,
        timeout=timeout,
        connect_timeout=0.5,
    )
    return op.adapter_class(config, transport)


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
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
) -> None:
    """A read timeout raises CarrierTimeout after exactly one request (the token may be spent)."""
    route = transport.on_post(_path(op, method)).fail(timed_out)

    with pytest.raises(CarrierTimeout) as caught:
        await _call(_adapter(op, transport), op, method)

    assert route.call_count == 1
    assert str(caught.value) == str(timed_out(op.adapter_class.OPERATOR))
    assert_no_leak(caught.value, op.token, PHONE, NATIONAL)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_dropped_connection_is_not_retried(
    op: _Operator, method: str, transport: FakeTransport
) -> None:
    """A connection dropped after sending raises CarrierUnavailable after exactly one request."""
    route = transport.on_post(_path(op, method)).fail(dropped)

    with pytest.raises(CarrierUnavailable):
        await _call(_adapter(op, transport), op, method)

    assert route.call_count == 1


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_refused_connection_is_retried_once(
    op: _Operator,
    method: str,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
) -> None:
    """A refused connection is retried exactly once, then raises CarrierUnavailable."""
    route = transport.on_post(_path(op, method)).fail(refused)

    with pytest.raises(CarrierUnavailable) as caught:
        await _call(_adapter(op, transport), op, method)

    assert route.call_count == 2
    assert caught.value.unsent
    assert str(caught.value) == str(refused(op.adapter_class.OPERATOR))
    assert_no_leak(caught.value, op.token, PHONE, NATIONAL)


@pytest.mark.parametrize("op", OPERATORS)
async def test_refused_then_answered_succeeds(op: _Operator, transport: FakeTransport) -> None:
    """When the retry after a refused connection is answered, its answer is the result."""
    refusals = [refused(op.adapter_class.OPERATOR)]

    def refuse_once(request: Request) -> Answer:
        if refusals:
            raise refusals.pop()
        return op.check_pass(request)

    route = transport.on_post(op.check_path).handle(refuse_once)

    outcome = await _adapter(op, transport).verify_number(op.token, PHONE)

    assert outcome.result is VerifyResult.PASS
    assert route.call_count == 2


async def _stall(request: Request) -> Answer:
    await asyncio.sleep(2)
    return answer(200)


@pytest.mark.parametrize("op", OPERATORS)
async def test_whole_call_deadline(op: _Operator, transport: FakeTransport) -> None:
    """The transport is given config.timeout as the whole call's deadline and connect_timeout for
    the connection; an answer slower than the deadline raises CarrierTimeout."""
    route = transport.on_post(op.login_path).handle(_stall)

    with pytest.raises(CarrierTimeout):
        await _adapter(op, transport, timeout=0.05).exchange_login(op.token)

    assert (route.last.timeout, route.last.connect_timeout) == (0.05, 0.5)


@pytest.mark.parametrize("op", OPERATORS)
async def test_retry_after_refusal_gets_what_is_left_of_the_deadline(
    op: _Operator, transport: FakeTransport
) -> None:
    """The retry after a refused connection runs within the first attempt's deadline, not a new one."""

    async def refuse_slowly_once(request: Request) -> Answer:
        if len(route.calls) == 1:
            await asyncio.sleep(0.2)
            raise refused(request.operator)
        return op.check_pass(request)

    route = transport.on_post(op.check_path).handle(refuse_slowly_once)

    await _adapter(op, transport, timeout=1.0).verify_number(op.token, PHONE)

    first, retry = route.calls
    assert first.timeout == 1.0
    assert retry.timeout <= 0.8
    assert retry.connect_timeout == 0.5


@pytest.mark.parametrize("status", [500, 502, 503])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_http_5xx_is_unavailable(
    op: _Operator, method: str, status: int, transport: FakeTransport
) -> None:
    """HTTP 5xx (the sandbox's errorRate answers 500 with a non-JSON body) raises CarrierUnavailable, once."""
    route = transport.on_post(_path(op, method)).respond(status, text="<html>internal error</html>")

    with pytest.raises(CarrierUnavailable):
        await _call(_adapter(op, transport), op, method)

    assert route.call_count == 1


@pytest.mark.parametrize("status", [201, 302, 400, 404])
@pytest.mark.parametrize("op", OPERATORS)
async def test_other_http_status_is_protocol_error(
    op: _Operator, status: int, transport: FakeTransport
) -> None:
    """Operators answer HTTP 200 whatever the result, so any other non-5xx status is a protocol error."""
    transport.on_post(op.login_path).respond(status, json={})

    with pytest.raises(CarrierProtocolError):
        await _adapter(op, transport).exchange_login(op.token)


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
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
) -> None:
    """A 200 answer that is not JSON, or JSON of the wrong shape, raises CarrierProtocolError."""
    transport.on_post(_path(op, method)).respond(200, content=body)

    with pytest.raises(CarrierProtocolError) as caught:
        await _call(_adapter(op, transport), op, method)

    assert_no_leak(caught.value, op.token, PHONE, NATIONAL)


async def test_garbage_echoing_secrets_leaks_nothing(
    transport: FakeTransport, assert_no_leak: Callable[..., None]
) -> None:
    """A malformed answer quoting the token and number does not carry them into the error or its traceback."""
    token = "CUAT" + "Q" * 40
    transport.on_post("/cucc/openapi/netauth/v2/mobile").respond(
        200, json={"code": "0000", "seqId": "s", "data": {"mobile": int(NATIONAL), "authType": token}}
    )

    with pytest.raises(CarrierProtocolError) as caught:
        await _adapter(CUCC, transport).exchange_login(token)

    assert_no_leak(caught.value, token, NATIONAL)


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("status", [200, 404, 500])
async def test_ping_true_on_any_http_answer(op: _Operator, status: int, transport: FakeTransport) -> None:
    """ping() is True when the operator root answers HTTP, whatever the status."""
    operator = op.adapter_class.OPERATOR
    route = transport.on_get(f"/{operator}").respond(status)

    assert await _adapter(op, transport).ping() is True
    assert route.call_count == 1


@pytest.mark.parametrize("op", OPERATORS)
@pytest.mark.parametrize("failure", [refused, timed_out, dropped])
async def test_ping_false_on_transport_failure(
    op: _Operator, failure: Callable[[str], Exception], transport: FakeTransport
) -> None:
    """ping() is False, without raising, when the operator cannot be reached."""
    transport.on_get(f"/{op.adapter_class.OPERATOR}").fail(failure)

    assert await _adapter(op, transport).ping() is False


async def test_ping_false_past_connect_timeout(transport: FakeTransport) -> None:
    """ping() asks the transport for an answer within the connect timeout, and is False without one."""
    route = transport.on_get("/cmcc").handle(_stall)

    assert await _adapter(CMCC, transport).ping() is False
    assert route.last.timeout == 0.5


@pytest.mark.parametrize(
    ("failure", "expected", "unsent"),
    [
        (refused, CarrierUnavailable, True),
        (timed_out, CarrierTimeout, False),
        (dropped, CarrierUnavailable, False),
    ],
)
def test_transport_failures_are_carrier_errors_of_the_operator(
    failure: Callable[[str], CarrierError], expected: type[CarrierError], unsent: bool
) -> None:
    """Each transport failure is exactly one carrier error class, of the operator; only a refused
    connection is unsent (the one failure the adapters retry)."""
    error = failure("cmcc")

    assert type(error) is expected
    assert error.operator == "cmcc"
    assert getattr(error, "unsent", False) is unsent


def test_adapter_refuses_another_operators_config(transport: FakeTransport) -> None:
    """An adapter built with another operator's configuration fails fast."""
    config = OperatorConfig(
        operator="cucc", base_url="http://operator.test/cucc", app_id="a", app_key="K" * 32
    )

    with pytest.raises(ValueError, match="cucc"):
        CmccAdapter(config, transport)


@pytest.mark.parametrize(
    "base_url",
    ["operator.test/cmcc", "ftp://operator.test/cmcc", "http:///cmcc", "http://operator.test/cmcc?a=1"],
)
def test_adapter_refuses_a_malformed_base_url(base_url: str, transport: FakeTransport) -> None:
    """An adapter whose base URL is not http(s)://host[/path] fails when built, not on its first call."""
    config = OperatorConfig(operator="cmcc", base_url=base_url, app_id="a", app_key="K" * 32)

    with pytest.raises(ValueError, match="base URL"):
        CmccAdapter(config, transport)
