"""The production operator transport over real sockets on 127.0.0.1: round trip, the one translation
of aiohttp failures into carrier errors, body limits, redirects, proxies, and the circuit breaker."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY

from carrier_adapters import (
    CarrierTimeout,
    CarrierUnavailable,
    CircuitOpen,
    CmccAdapter,
    OperatorConfig,
    Transport,
)
from gateway.circuit import CircuitPolicy
from gateway.outbound import AiohttpTransport, GuardedTransport, _carrier_error, build_operator_transport
from tests.ports import free_port

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ServeFactory = Callable[[Handler], Awaitable[str]]
JSON = "application/json"


@pytest.fixture
async def serve() -> AsyncIterator[ServeFactory]:
    """Start an aiohttp server on 127.0.0.1 (port 0) answering every path with a handler; yield its URL."""
    servers: list[TestServer] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        servers.append(server)
        return str(server.make_url("/"))

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def transport() -> AsyncIterator[GuardedTransport]:
    """The production transport (no breaker), closed after the test."""
    operator_transport = build_operator_transport(limit_per_host=4)
    yield operator_transport
    await operator_transport.aclose()


async def _post(
    transport: Transport, url: str, body: bytes = b"{}", *, deadline: float = 2.0, content_type: str = JSON
) -> tuple[int, bytes]:
    return await transport.post(
        url, body, content_type, operator="cmcc", timeout=deadline, connect_timeout=1.0
    )


def _calls(endpoint: str, outcome: str) -> float:
    labels = {"operator": "cmcc", "endpoint": endpoint, "outcome": outcome}
    return REGISTRY.get_sample_value("gateway_operator_call_seconds_count", labels) or 0.0


async def test_json_post_round_trip(serve: ServeFactory, transport: GuardedTransport) -> None:
    """The body reaches the server as is, with its Content-Type, method and path; the status and the
    whole answer come back, observed in the operator-call histogram."""

    async def echo(request: web.Request) -> web.Response:
        received = {
            "method": request.method,
            "path": request.path,
            "content_type": request.content_type,
            "body": await request.json(),
        }
        return web.json_response(received, status=201)

    url = await serve(echo) + "op/path"
    before = _calls("/op/path", "ok")

    status, body = await _post(transport, url, b'{"token":"t","n":1}')

    assert status == 201
    assert json.loads(body) == {
        "method": "POST",
        "path": "/op/path",
        "content_type": "application/json",
        "body": {"token": "t", "n": 1},
    }
    assert _calls("/op/path", "ok") == before + 1


async def test_form_post_and_keepalive_reuse(serve: ServeFactory, transport: GuardedTransport) -> None:
    """Form bodies (UTF-8 included) are sent intact and consecutive calls on the pool all succeed."""

    async def form(request: web.Request) -> web.Response:
        return web.json_response(dict(await request.post()))

    url = await serve(form)
    for index in range(3):
        body = f"appId=a&n={index}&text=%E5%BC%A0".encode()
        status, answer = await _post(transport, url, body, content_type="application/x-www-form-urlencoded")
        assert (status, json.loads(answer)) == (200, {"appId": "a", "n": str(index), "text": "张"})


async def test_gzip_answer_is_decoded_once(serve: ServeFactory, transport: GuardedTransport) -> None:
    """A gzip-encoded answer comes back decoded, once."""

    async def gzipped(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(b'{"ok":true}'), headers={"Content-Encoding": "gzip"})

    assert await _post(transport, await serve(gzipped)) == (200, b'{"ok":true}')


async def test_5xx_is_an_answer_of_the_transport(serve: ServeFactory, transport: GuardedTransport) -> None:
    """HTTP 5xx is returned with its body (the adapters judge it), observed as ``http_5xx``."""

    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=503, body=b"busy")

    url = await serve(busy) + "busy"
    before = _calls("/busy", "http_5xx")

    assert await _post(transport, url) == (503, b"busy")
    assert _calls("/busy", "http_5xx") == before + 1


async def test_refused_connection_is_unsent_unavailable(transport: GuardedTransport) -> None:
    """A refused port raises CarrierUnavailable marked unsent (safe to retry), not a timeout."""
    url = f"http://127.0.0.1:{free_port()}/refused"
    before = _calls("/refused", "refused")

    with pytest.raises(CarrierUnavailable) as caught:
        await _post(transport, url)

    assert caught.value.unsent
    assert caught.value.operator == "cmcc"
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)
    assert _calls("/refused", "refused") == before + 1


async def test_slow_answer_is_timeout(serve: ServeFactory, transport: GuardedTransport) -> None:
    """A server that answers after the call's timeout raises CarrierTimeout."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        return web.json_response({})

    with pytest.raises(CarrierTimeout):
        await _post(transport, await serve(slow), deadline=0.1)


async def test_slow_body_is_timeout(serve: ServeFactory, transport: GuardedTransport) -> None:
    """The timeout bounds the whole call: headers in time but a body that stalls raise CarrierTimeout."""

    async def stalling_body(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "10"})
        await response.prepare(request)
        await response.write(b"12345")
        await asyncio.sleep(0.5)
        await response.write(b"67890")
        return response

    with pytest.raises(CarrierTimeout):
        await _post(transport, await serve(stalling_body), deadline=0.2)


async def test_server_dropping_connection_is_unavailable_and_sent(transport: GuardedTransport) -> None:
    """A server closing the connection unanswered raises CarrierUnavailable, not unsent (the request
    reached it), not a timeout."""

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(CarrierUnavailable) as caught:
            await _post(transport, f"http://127.0.0.1:{port}/")
    finally:
        server.close()
        await server.wait_closed()

    assert not caught.value.unsent


async def test_declared_body_over_cap_is_unavailable(
    serve: ServeFactory, transport: GuardedTransport
) -> None:
    """An answer declaring more than 1 MiB raises CarrierUnavailable."""

    async def huge(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (1024 * 1024 + 1))

    with pytest.raises(CarrierUnavailable, match="over 1048576 bytes"):
        await _post(transport, await serve(huge))


async def test_streamed_body_over_cap_is_unavailable(serve: ServeFactory) -> None:
    """A chunked answer without Content-Length that grows past the cap raises CarrierUnavailable."""

    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(8):
            await response.write(b"y" * 512)
        await response.write_eof()
        return response

    small = AiohttpTransport(max_body=1024)
    try:
        with pytest.raises(CarrierUnavailable, match="over 1024 bytes"):
            await _post(small, await serve(streamed))
    finally:
        await small.aclose()


async def test_redirects_are_not_followed_nor_cookies_kept(
    serve: ServeFactory, transport: GuardedTransport
) -> None:
    """A redirect comes back as it came (an answer, not followed); Set-Cookie is not stored."""
    seen_cookies: list[str | None] = []

    async def redirect(request: web.Request) -> web.Response:
        seen_cookies.append(request.headers.get("Cookie"))
        return web.Response(status=302, headers={"Location": "/elsewhere", "Set-Cookie": "session=abc"})

    url = await serve(redirect) + "start"

    assert (await _post(transport, url))[0] == 302
    assert (await _post(transport, url))[0] == 302
    assert seen_cookies == [None, None]


async def test_environment_proxies_are_ignored(
    serve: ServeFactory, transport: GuardedTransport, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HTTP(S)_PROXY in the environment does not divert operator calls."""
    dead_proxy = f"http://127.0.0.1:{free_port()}"
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, dead_proxy)

    async def direct(request: web.Request) -> web.Response:
        return web.Response(body=b"direct")

    assert await _post(transport, await serve(direct)) == (200, b"direct")


async def test_get_answers_the_status_without_the_breaker(serve: ServeFactory) -> None:
    """GET (the readiness ping) answers any status, and is sent even while the circuit is open."""

    async def not_found(request: web.Request) -> web.Response:
        if request.method == "POST":
            return web.Response(status=500)
        return web.Response(status=404)

    url = await serve(not_found)
    guarded = build_operator_transport(circuit=CircuitPolicy(failure_threshold=1, cooldown_seconds=60.0))
    try:
        assert (await _post(guarded, url))[0] == 500
        with pytest.raises(CircuitOpen):
            await _post(guarded, url)
        assert await guarded.get(url, operator="cmcc", timeout=1.0) == 404
    finally:
        await guarded.aclose()


async def test_ping_through_an_adapter(serve: ServeFactory, transport: GuardedTransport) -> None:
    """An adapter's ping is True when its base URL answers HTTP at all, False when refused."""

    async def root(request: web.Request) -> web.Response:
        return web.Response(status=404)

    def adapter(base_url: str) -> CmccAdapter:
        config = OperatorConfig("cmcc", base_url, "app", "K" * 32, connect_timeout=0.5)
        return CmccAdapter(config, transport)

    assert await adapter((await serve(root)) + "cmcc").ping() is True
    assert await adapter(f"http://127.0.0.1:{free_port()}/cmcc").ping() is False


async def test_open_circuit_rejects_fast_without_sending(serve: ServeFactory) -> None:
    """After a 5xx (threshold 1) the next call raises CircuitOpen at once, without reaching the
    operator, observed as ``circuit_open``."""
    answered: list[int] = []

    async def busy(request: web.Request) -> web.Response:
        answered.append(1)
        return web.Response(status=503, body=b"busy")

    url = await serve(busy) + "busy"
    guarded = build_operator_transport(circuit=CircuitPolicy(failure_threshold=1, cooldown_seconds=60.0))
    before = _calls("/busy", "circuit_open")
    try:
        assert (await _post(guarded, url))[0] == 503
        with pytest.raises(CircuitOpen) as caught:
            await _post(guarded, url)
    finally:
        await guarded.aclose()

    assert answered == [1]
    assert caught.value.unsent and caught.value.retry_after == pytest.approx(60.0, abs=1.0)
    assert _calls("/busy", "circuit_open") == before + 1


async def test_a_timeout_is_counted_by_the_breaker(serve: ServeFactory) -> None:
    """A call timed out by the transport is a failure: with a threshold of 1 the next call is refused."""
    answered: list[int] = []

    async def slow(request: web.Request) -> web.Response:
        answered.append(1)
        await asyncio.sleep(0.5)
        return web.json_response({})

    url = await serve(slow) + "slow"
    guarded = build_operator_transport(circuit=CircuitPolicy(failure_threshold=1, cooldown_seconds=60.0))
    before = _calls("/slow", "timeout")
    try:
        with pytest.raises(CarrierTimeout):
            await _post(guarded, url, deadline=0.1)
        with pytest.raises(CircuitOpen):
            await _post(guarded, url, deadline=0.1)
    finally:
        await guarded.aclose()

    assert answered == [1]
    assert _calls("/slow", "timeout") == before + 1


async def test_aclose_closes_pooled_connections() -> None:
    """A kept-alive connection stays open between calls and is closed when the transport is closed."""
    closed = asyncio.Event()

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        await writer.drain()
        await reader.read()
        closed.set()
        writer.close()

    server = await asyncio.start_server(keep_alive, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        operator_transport = build_operator_transport()
        assert await _post(operator_transport, f"http://127.0.0.1:{port}/") == (200, b"{}")
        assert not closed.is_set()
        await operator_transport.aclose()
        await asyncio.wait_for(closed.wait(), timeout=2)
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("raised", "expected", "unsent"),
    [
        (aiohttp.ConnectionTimeoutError("connect"), CarrierTimeout, False),
        (aiohttp.SocketTimeoutError("read"), CarrierTimeout, False),
        (aiohttp.ServerTimeoutError("server"), CarrierTimeout, False),
        (TimeoutError(), CarrierTimeout, False),
        (aiohttp.ServerDisconnectedError(), CarrierUnavailable, False),
        (aiohttp.ClientPayloadError("truncated"), CarrierUnavailable, False),
        (aiohttp.ClientOSError(104, "reset"), CarrierUnavailable, False),
        (aiohttp.InvalidURL("nowhere"), CarrierUnavailable, False),
    ],
)
def test_each_aiohttp_failure_is_one_carrier_error(
    raised: TimeoutError | aiohttp.ClientError, expected: type[Exception], unsent: bool
) -> None:
    """Every aiohttp timeout is CarrierTimeout; other failures after connecting are CarrierUnavailable
    (sent); a refused connection, the only unsent one, is tested over a real socket above."""
    error = _carrier_error("ctcc", raised)

    assert type(error) is expected
    assert error.operator == "ctcc"
    assert getattr(error, "unsent", False) is unsent
