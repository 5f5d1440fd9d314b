"""Transport behaviour of the identity calls: line reads retried once on refusal only, code exchanges
never retried once sent, 5xx, other statuses and garbage bodies, for every operator."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import pytest

from carrier_adapters import (
    CarrierProtocolError,
    CarrierTimeout,
    CarrierUnavailable,
    CmccAdapter,
    CtccAdapter,
    CuccAdapter,
    OperatorConfig,
)
from carrier_adapters._adapter import OperatorAdapter
from carrier_adapters.testing import Answer, FakeTransport, Request, answer
from carrier_adapters.transport import dropped, refused, timed_out

PHONE = "+8613800138000"
NATIONAL = "13800138000"
REDIRECT = "https://gw.example/cb"


def _cmcc_history(request: Request) -> Answer:
    msg_id = json.loads(request.content)["header"]["msgId"]
    return answer(
        200, json={"header": {"msgId": msg_id, "resultCode": "001"}, "body": {"retentionHours": "2400"}}
    )


@dataclass(frozen=True)
class _Operator:
    adapter_class: type[OperatorAdapter]
    code: str
    paths: dict[str, str]
    sim_ok: Callable[[Request], Answer]


CMCC = _Operator(
    CmccAdapter,
    "CMAC" + "ab" * 16,
    {
        "sim": "/cmcc/openapi/rs/simChangeQuery",
        "device": "/cmcc/openapi/rs/deviceChangeQuery",
        "record": "/cmcc/openapi/rs/custInfoQuery",
        "code": "/cmcc/unisdk/rsapi/authCodeValidate",
    },
    _cmcc_history,
)
CUCC = _Operator(
    CuccAdapter,
    "CUAC" + "Zz9_" * 10,
    {
        "sim": "/cucc/openapi/lineinfo/v1/simchange",
        "device": "/cucc/openapi/lineinfo/v1/devicechange",
        "record": "/cucc/openapi/lineinfo/v1/realname",
        "code": "/cucc/openapi/netauth/v2/code",
    },
    lambda request: answer(
        200, json={"code": "0000", "seqId": "s", "data": {"status": "2", "windowHours": "720"}}
    ),
)
CTCC = _Operator(
    CtccAdapter,
    "CTAC" + "cd" * 20,
    {
        "sim": "/ctcc/openapi/lineinfo/querySimChange.do",
        "device": "/ctcc/openapi/lineinfo/queryDeviceChange.do",
        "record": "/ctcc/openapi/lineinfo/queryRealName.do",
        "code": "/ctcc/openapi/oauth/getMobileByCode.do",
    },
    lambda request: answer(
        200,
        json={"result": 0, "reqId": "r", "data": {"changeTime": "", "changeType": "", "retainDays": "60"}},
    ),
)
OPERATORS = [pytest.param(CMCC, id="cmcc"), pytest.param(CUCC, id="cucc"), pytest.param(CTCC, id="ctcc")]
READS = ["sim", "device", "record"]
METHODS = [*READS, "code"]


def _adapter(op: _Operator, transport: FakeTransport) -> OperatorAdapter:
    operator = op.adapter_class.OPERATOR
    config = OperatorConfig(
        operator=operator, base_url=f"http://operator.test/{operator}", app_id="app", app_key="K" * 32
    )
    return op.adapter_class(config, transport)


def _call(adapter: OperatorAdapter, op: _Operator, method: str) -> Awaitable[object]:
    if method == "sim":
        return adapter.sim_history(PHONE)
    if method == "device":
        return adapter.device_history(PHONE)
    if method == "record":
        return adapter.customer_record(PHONE)
    return adapter.exchange_code(op.code, redirect_uri=REDIRECT)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_read_timeout_is_not_retried(
    op: _Operator,
    method: str,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
) -> None:
    """A read timeout raises CarrierTimeout after exactly one request."""
    route = transport.on_post(op.paths[method]).fail(timed_out)

    with pytest.raises(CarrierTimeout) as caught:
        await _call(_adapter(op, transport), op, method)

    assert route.call_count == 1
    assert_no_leak(caught.value, op.code, PHONE, NATIONAL)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_dropped_connection_is_not_retried(
    op: _Operator, method: str, transport: FakeTransport
) -> None:
    """A connection dropped after sending raises CarrierUnavailable after one request (code may be spent)."""
    route = transport.on_post(op.paths[method]).fail(dropped)

    with pytest.raises(CarrierUnavailable):
        await _call(_adapter(op, transport), op, method)

    assert route.call_count == 1


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_refused_connection_is_retried_once(
    op: _Operator, method: str, transport: FakeTransport
) -> None:
    """A refused connection (nothing sent) is retried exactly once, then raises CarrierUnavailable."""
    route = transport.on_post(op.paths[method]).fail(refused)

    with pytest.raises(CarrierUnavailable):
        await _call(_adapter(op, transport), op, method)

    assert route.call_count == 2


@pytest.mark.parametrize("op", OPERATORS)
async def test_refused_then_answered_read_succeeds(op: _Operator, transport: FakeTransport) -> None:
    """When the retry of a refused line read is answered, its answer is the result."""
    refusals = [refused(op.adapter_class.OPERATOR)]

    def refuse_once(request: Request) -> Answer:
        if refusals:
            raise refusals.pop()
        return op.sim_ok(request)

    route = transport.on_post(op.paths["sim"]).handle(refuse_once)

    history = await _adapter(op, transport).sim_history(PHONE)

    assert (history.latest_change, history.known) == (None, True)
    assert route.call_count == 2


@pytest.mark.parametrize("status", [500, 503])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_http_5xx_is_unavailable(
    op: _Operator, method: str, status: int, transport: FakeTransport
) -> None:
    """HTTP 5xx with an HTML body raises CarrierUnavailable after one request."""
    route = transport.on_post(op.paths[method]).respond(status, text="<html>internal error</html>")

    with pytest.raises(CarrierUnavailable):
        await _call(_adapter(op, transport), op, method)

    assert route.call_count == 1


@pytest.mark.parametrize("status", [302, 404])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("op", OPERATORS)
async def test_other_http_status_is_protocol_error(
    op: _Operator, method: str, status: int, transport: FakeTransport
) -> None:
    """Operators answer HTTP 200 whatever the result; any other non-5xx status is a protocol error."""
    transport.on_post(op.paths[method]).respond(status, json={})

    with pytest.raises(CarrierProtocolError):
        await _call(_adapter(op, transport), op, method)


@pytest.mark.parametrize(
    "body",
    [b"not json", b"", b"[]", b"null", b'{"unexpected": true}'],
    ids=["text", "empty", "list", "null", "shape"],
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
    transport.on_post(op.paths[method]).respond(200, content=body)

    with pytest.raises(CarrierProtocolError) as caught:
        await _call(_adapter(op, transport), op, method)

    assert_no_leak(caught.value, op.code, PHONE, NATIONAL)
