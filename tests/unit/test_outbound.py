"""The production operator transport over real sockets: round trip, and precise failure classes."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from prometheus_client import REGISTRY

from carrier_adapters import BodyPoster, CircuitOpen
from gateway.circuit import CircuitPolicy
from gateway.outbound import AiohttpTransport, OperatorClient, _httpx_error, build_operator_client

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ServeFactory = Callable[[Handler], Awaitable[str]]


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
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The production client, closed after the test."""
    async with build_operator_client(limit_per_host=4) as operator_client:
        yield operator_client


def _refused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_json_post_round_trip(serve: ServeFactory, client: httpx.AsyncClient) -> None:
    """A JSON POST reaches the server with method, path, headers and body; the answer comes back whole."""

    async def echo(request: web.Request) -> web.Response:
        received = {
            "method": request.method,
            "path": request.path,
            "header": request.headers.get("X-Probe"),
            "content_type": request.content_type,
            "body": await request.json(),
        }
        return web.json_response(received, status=201, headers={"X-Answer": "yes"})

    url = await serve(echo)
    response = await client.post(url + "op/path", json={"token": "t", "n": 1}, headers={"X-Probe": "p1"})

    assert response.status_code == 201
    assert response.headers["X-Answer"] == "yes"
    assert response.json() == {
        "method": "POST",
        "path": "/op/path",
        "header": "p1",
        "content_type": "application/json",
        "body": {"token": "t", "n": 1},
    }


async def test_form_post_and_keepalive_reuse(serve: ServeFactory, client: httpx.AsyncClient) -> None:
    """Form bodies are sent intact and consecutive requests on the pool all succeed."""

    async def form(request: web.Request) -> web.Response:
        return web.json_response(dict(await request.post()))

    url = await serve(form)
    for index in range(3):
        response = await client.post(url, data={"appId": "a", "n": str(index)})
        assert response.json() == {"appId": "a", "n": str(index)}


async def test_gzip_answer_is_decoded_once(serve: ServeFactory, client: httpx.AsyncClient) -> None:
    """A gzip-encoded answer is decoded by httpx exactly once (aiohttp does not decompress it first)."""

    async def gzipped(request: web.Request) -> web.Response:
        body = gzip.compress(json.dumps({"ok": True}).encode())
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    url = await serve(gzipped)
    response = await client.get(url)

    assert response.json() == {"ok": True}


async def test_refused_connection_is_connect_error(client: httpx.AsyncClient) -> None:
    """A refused port raises httpx.ConnectError, not a timeout (the request never left: safe to retry)."""
    port = _refused_port()

    with pytest.raises(httpx.ConnectError) as caught:
        await client.post(f"http://127.0.0.1:{port}/", json={})

    assert not isinstance(caught.value, httpx.TimeoutException)
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)


async def test_slow_server_is_read_timeout(serve: ServeFactory, client: httpx.AsyncClient) -> None:
    """A server that answers after the read timeout raises httpx.ReadTimeout."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        return web.json_response({})

    url = await serve(slow)

    with pytest.raises(httpx.ReadTimeout):
        await client.post(url, json={}, timeout=httpx.Timeout(0.1, connect=1.0))


async def test_server_dropping_connection_is_protocol_or_read_error(client: httpx.AsyncClient) -> None:
    """A server closing the connection unanswered raises RemoteProtocolError/ReadError, not a timeout."""

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)) as caught:
            await client.post(f"http://127.0.0.1:{port}/", json={})
    finally:
        server.close()
        await server.wait_closed()

    assert not isinstance(caught.value, httpx.TimeoutException)


async def test_declared_body_over_cap_is_read_error(serve: ServeFactory, client: httpx.AsyncClient) -> None:
    """An answer declaring more than 1 MiB raises httpx.ReadError."""

    async def huge(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (1024 * 1024 + 1))

    url = await serve(huge)

    with pytest.raises(httpx.ReadError):
        await client.get(url)


async def test_streamed_body_over_cap_is_read_error(serve: ServeFactory) -> None:
    """A chunked answer without Content-Length that grows past the cap raises httpx.ReadError."""

    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(8):
            await response.write(b"y" * 512)
        await response.write_eof()
        return response

    url = await serve(streamed)

    async with httpx.AsyncClient(transport=AiohttpTransport(max_body=1024)) as small:
        with pytest.raises(httpx.ReadError):
            await small.get(url)


async def test_aclose_closes_pooled_connections() -> None:
    """A kept-alive connection stays open between calls and is closed when the client is closed."""
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
        operator_client = build_operator_client()
        assert (await operator_client.get(f"http://127.0.0.1:{port}/")).json() == {}
        assert not closed.is_set()
        await operator_client.aclose()
        await asyncio.wait_for(closed.wait(), timeout=2)
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (aiohttp.ConnectionTimeoutError("connect"), httpx.ConnectTimeout),
        (aiohttp.SocketTimeoutError("read"), httpx.ReadTimeout),
        (aiohttp.ServerTimeoutError("server"), httpx.ReadTimeout),
        (aiohttp.ServerDisconnectedError(), httpx.RemoteProtocolError),
        (aiohttp.ClientPayloadError("truncated"), httpx.RemoteProtocolError),
        (aiohttp.ClientOSError(104, "reset"), httpx.ReadError),
        (TimeoutError(), httpx.ReadTimeout),
    ],
)
def test_exception_map_picks_the_most_specific_class(raised: Exception, expected: type[Exception]) -> None:
    """Each aiohttp failure maps to exactly the httpx class of its phase, carrying the request."""
    request = httpx.Request("POST", "http://127.0.0.1/")

    mapped = _httpx_error(raised, request)

    assert type(mapped) is expected
    assert mapped is not None and mapped.request is request


async def test_operator_client_never_follows_redirects_nor_keeps_cookies(
    serve: ServeFactory, client: httpx.AsyncClient
) -> None:
    """The lean send returns a redirect as it came, ignores Set-Cookie, and refuses streaming."""

    async def redirect(request: web.Request) -> web.Response:
        seen_cookie = request.headers.get("Cookie")
        return web.Response(
            status=302,
            text=f"cookie={seen_cookie}",
            headers={"Location": "/elsewhere", "Set-Cookie": "session=abc"},
        )

    url = await serve(redirect)
    first = await client.post(url + "start", content=b"x", follow_redirects=True)
    second = await client.post(url + "start", content=b"x")

    assert first.status_code == 302 and first.headers["Location"] == "/elsewhere"
    assert second.text == "cookie=None"
    assert first.request.url == httpx.URL(url + "start")
    with pytest.raises(ValueError, match="stream"):
        await client.send(httpx.Request("GET", url), stream=True)


class _AsyncOnlyStream(httpx.AsyncByteStream):
    """A body that can only be read asynchronously, as a streaming transport would hand it over."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"part one, "
        yield b"part two"


async def test_operator_client_reads_an_async_only_body_whole() -> None:
    """A transport whose body is not already in memory is read (and closed) before send returns."""

    class Streaming(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, stream=_AsyncOnlyStream())

    client = OperatorClient(Streaming())
    response = await client.send(httpx.Request("GET", "http://operator.test/"))

    assert response.content == b"part one, part two"
    assert response.is_closed


async def test_transport_passes_the_request_headers_but_not_transfer_encoding(serve: ServeFactory) -> None:
    """Every request header reaches the operator byte for byte (a UTF-8 value too), without
    Transfer-Encoding (aiohttp frames the body itself)."""
    seen: dict[str, str] = {}
    raw_seen: dict[bytes, bytes] = {}

    async def record(request: web.Request) -> web.Response:
        seen.update(request.headers)
        raw_seen.update(request.raw_headers)
        return web.Response(body=await request.read())

    url = await serve(record)
    async with build_operator_client() as client:
        request = httpx.Request(
            "POST",
            url,
            content=b"body",
            headers={"X-Sign": "abc", "X-Name": "张三".encode(), "Transfer-Encoding": "chunked"},
        )
        response = await client.send(request)

    assert response.content == b"body"
    assert seen["X-Sign"] == "abc" and seen["Content-Length"] == "4"
    assert raw_seen[b"X-Name"] == "张三".encode()
    assert "Transfer-Encoding" not in seen


async def test_an_identity_body_is_handed_over_read_as_httpx_would_leave_it(
    serve: ServeFactory, client: httpx.AsyncClient
) -> None:
    """A body without Content-Encoding arrives in the state ``Response.read()`` leaves: content,
    stream consumed and closed, bytes counted; reading it again is a no-op."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"resultCode": "103000", "msisdn": "13800138000"})

    url = await serve(answer)
    response = await client.post(url, json={})
    reference = httpx.Response(
        200, headers=response.headers, stream=httpx.ByteStream(response.content), request=response.request
    )
    reference.read()

    assert response.content == reference.content
    assert response.json() == {"resultCode": "103000", "msisdn": "13800138000"}
    assert (response.is_stream_consumed, response.is_closed) == (True, True)
    assert response.num_bytes_downloaded == reference.num_bytes_downloaded == len(reference.content)
    assert response.read() == await response.aread() == reference.content
    assert b"".join(response.iter_bytes()) == reference.content


async def test_a_custom_host_header_is_kept(serve: ServeFactory) -> None:
    """A Host other than the URL's own reaches the server (virtual hosting behind an address)."""
    seen: dict[str, str] = {}

    async def record(request: web.Request) -> web.Response:
        seen.update(request.headers)
        return web.Response()

    url = await serve(record)
    async with build_operator_client() as client:
        await client.send(httpx.Request("GET", url, headers={"Host": "operator.example"}))
        assert seen["Host"] == "operator.example"
        await client.send(httpx.Request("GET", url))
    assert seen["Host"] == httpx.URL(url).netloc.decode()


async def _post_body(
    client: httpx.AsyncClient, url: str, body: bytes, read_timeout: float = 2.0
) -> tuple[int, bytes]:
    assert isinstance(client, BodyPoster)
    return await client.post_body(
        url, body, "application/json", operator="cmcc", read_timeout=read_timeout, connect_timeout=1.0
    )


def _calls(endpoint: str, outcome: str) -> float:
    labels = {"operator": "cmcc", "endpoint": endpoint, "outcome": outcome}
    return REGISTRY.get_sample_value("gateway_operator_call_seconds_count", labels) or 0.0


async def test_the_production_client_posts_bodies_without_httpx_objects(
    serve: ServeFactory, client: httpx.AsyncClient
) -> None:
    """``post_body`` sends the body as is with its Content-Type and answers the status and the
    body, counted in the operator-call histogram like ``send``."""
    seen: list[tuple[str, str, str, bytes]] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append((request.method, request.path, request.content_type, await request.read()))
        return web.Response(status=202, body=b'{"ok":1}')

    url = await serve(echo) + "cmcc/query"
    before = _calls("/cmcc/query", "ok")

    assert await _post_body(client, url, b'{"msisdn":"13800138000"}') == (202, b'{"ok":1}')
    assert seen == [("POST", "/cmcc/query", "application/json", b'{"msisdn":"13800138000"}')]
    assert _calls("/cmcc/query", "ok") == before + 1


async def test_post_body_answers_an_encoded_body_decoded(
    serve: ServeFactory, client: httpx.AsyncClient
) -> None:
    """A gzip-encoded answer comes back decoded, once."""

    async def gzipped(request: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(b'{"ok":true}'), headers={"Content-Encoding": "gzip"})

    assert await _post_body(client, await serve(gzipped), b"{}") == (200, b'{"ok":true}')


async def test_post_body_failures_are_the_httpx_classes_send_raises(
    serve: ServeFactory, client: httpx.AsyncClient
) -> None:
    """Refused is httpx.ConnectError, an answer later than the read timeout httpx.ReadTimeout."""

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.5)
        return web.json_response({})

    with pytest.raises(httpx.ConnectError):
        await _post_body(client, f"http://127.0.0.1:{_refused_port()}/", b"{}")
    with pytest.raises(httpx.ReadTimeout):
        await _post_body(client, await serve(slow), b"{}", read_timeout=0.1)


async def test_post_body_goes_through_the_operator_circuit(serve: ServeFactory) -> None:
    """A 5xx answer through ``post_body`` is a failure: with a threshold of 1 the next call is
    refused as CircuitOpen without reaching the operator."""
    answered: list[int] = []

    async def busy(request: web.Request) -> web.Response:
        answered.append(1)
        return web.Response(status=503, body=b"busy")

    url = await serve(busy)
    policy = CircuitPolicy(failure_threshold=1, cooldown_seconds=60.0)
    async with build_operator_client(circuit=policy) as breaker_client:
        assert (await _post_body(breaker_client, url, b"{}"))[0] == 503
        with pytest.raises(CircuitOpen):
            await _post_body(breaker_client, url, b"{}")

    assert answered == [1]


async def test_post_body_over_another_transport_goes_through_send() -> None:
    """Over a transport other than aiohttp's (a mock here), ``post_body`` sends an httpx request
    carrying the operator and the timeouts, and answers its status and body."""
    received: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(request)
        return httpx.Response(200, content=b"done")

    async with OperatorClient(httpx.MockTransport(handler)) as mock_client:
        answer = await mock_client.post_body(
            "http://op.test/q",
            b"a=1",
            "application/x-www-form-urlencoded",
            operator="ctcc",
            read_timeout=2.5,
            connect_timeout=0.5,
        )

    assert answer == (200, b"done")
    (request,) = received
    assert (request.url.path, request.content, request.headers["Content-Type"]) == (
        "/q",
        b"a=1",
        "application/x-www-form-urlencoded",
    )
    assert request.extensions["operator"] == "ctcc"
    assert request.extensions["timeout"] == httpx.Timeout(2.5, connect=0.5).as_dict()
