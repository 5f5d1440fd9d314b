"""The production HTTP client for operator calls: httpx's API over one shared aiohttp session.

:mod:`carrier_adapters` speaks httpx only; this module supplies the fast transport underneath
(httpx's default transport managed ~300 req/s at 32 concurrent calls on the target machine, aiohttp
several times that). Unlike ``httpx-aiohttp`` 0.2, failures are mapped to the *precise* httpx
class, because the adapters' retry rule depends on it (``docs/operator-dialects.md``, single-use
tokens): a refused connection (``httpx.ConnectError``) is safe to retry, a timeout or a dropped
connection is not.

The client keeps one circuit breaker per operator (:mod:`gateway.circuit`): while an operator's
circuit is open its calls fail at once with :class:`~carrier_adapters.CircuitOpen` (an
``httpx.ConnectError``: nothing was sent), which the adapters report as ``CarrierUnavailable``.
"""

from __future__ import annotations

import asyncio
import functools
import time

import aiohttp
import httpx
import structlog
from aiohttp import hdrs

from carrier_adapters import CircuitOpen
from gateway.circuit import CallResult, CircuitOpenError, CircuitPolicy, CircuitState, OperatorCircuits
from gateway.metrics import OPERATOR_CALL_SECONDS, OPERATOR_CIRCUIT_OPEN

__all__ = ["MAX_BODY_BYTES", "AiohttpTransport", "OperatorClient", "build_operator_client"]

MAX_BODY_BYTES = 1024 * 1024
_CHUNK_BYTES = 64 * 1024
_KEEPALIVE_SECONDS = 30.0
_DEADLINE_SLACK_SECONDS = 0.05

log = structlog.get_logger(__name__)

_EXCEPTION_MAP: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientConnectionError, httpx.ReadError),
    (aiohttp.InvalidURL, httpx.UnsupportedProtocol),
    (aiohttp.ClientError, httpx.TransportError),
    (TimeoutError, httpx.ReadTimeout),
)
"""aiohttp failure -> httpx failure, most specific first (``ConnectionTimeoutError`` is a
``ServerTimeoutError``; ``ClientConnectorError`` is a ``ClientOSError``; every aiohttp timeout is a
``TimeoutError``)."""


def _httpx_error(exc: Exception, request: httpx.Request) -> httpx.TransportError | None:
    """The httpx failure of an aiohttp one (see :data:`_EXCEPTION_MAP`), else None."""
    for source, target in _EXCEPTION_MAP:
        if isinstance(exc, source):
            return target(str(exc) or type(exc).__name__, request=request)
    return None


def _client_timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
    timeout = request.extensions.get("timeout", {})
    return _aiohttp_timeout(timeout.get("connect"), timeout.get("read"), timeout.get("pool"))


@functools.lru_cache(maxsize=64)
def _aiohttp_timeout(connect: float | None, read: float | None, pool: float | None) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(total=None, sock_connect=connect, sock_read=read, connect=pool)


@functools.lru_cache(maxsize=8)
def _http_version(major: int, minor: int) -> bytes:
    return f"HTTP/{major}.{minor}".encode()


_FRAMING = frozenset({b"transfer-encoding", b"content-length"})


def _outgoing_headers(request: httpx.Request) -> list[tuple[str, str]]:
    """The request's headers for aiohttp, decoded as httpx's ``multi_items`` decodes them.

    Left out: ``Transfer-Encoding`` and ``Content-Length`` (aiohttp frames the body it is given),
    and a ``Host`` equal to the URL's own, which aiohttp derives the same way; a custom ``Host``
    is kept.
    """
    encoding = request.headers.encoding
    netloc = request.url.netloc
    return [
        (key.decode(encoding), value.decode(encoding))
        for key, value in request.headers.raw
        if (name := key.lower()) not in _FRAMING and (name != b"host" or value != netloc)
    ]


def _buffered_response(
    answer: aiohttp.ClientResponse, content: bytes, request: httpx.Request
) -> httpx.Response:
    """The httpx response of ``answer``, whose body ``content`` is already in memory.

    Without a ``Content-Encoding`` the response is handed over read: its state is set to what
    ``Response.read()`` leaves (``content``, stream consumed and closed, bytes counted). httpx's own
    read goes through its decoder, chunker and three context managers, for as many instructions
    as a fifth of the whole aiohttp call (77k against 396k per call, callgrind). This relies on
    ``Response.read`` storing the body in ``_content``, which the tests pin. An encoded body is
    left to httpx to decode.
    """
    version = answer.version
    response = httpx.Response(
        status_code=answer.status,
        headers=answer.raw_headers,
        stream=httpx.ByteStream(content),
        request=request,
        extensions={
            "http_version": _http_version(*version) if version else b"HTTP/1.1",
            "reason_phrase": (answer.reason or "").encode(),
        },
    )
    if hdrs.CONTENT_ENCODING not in answer.headers:
        response._content = content
        response._num_bytes_downloaded = len(content)
        response.is_stream_consumed = True
        response.is_closed = True
    return response


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport that sends each request through one pooled ``aiohttp.ClientSession``.

    The session is created on first use (it needs the running loop) and closed by :meth:`aclose`.
    Redirects are not followed, the environment (proxies) is ignored and response bodies are read
    whole, up to ``max_body`` bytes. httpx, not aiohttp, decodes ``Content-Encoding``.

    :raises httpx.ConnectError: connection refused or name not resolved (nothing was sent).
    :raises httpx.ConnectTimeout: no connection within the connect (or pool) timeout.
    :raises httpx.ReadTimeout: no data within the read timeout.
    :raises httpx.RemoteProtocolError: the server disconnected or sent a malformed answer.
    :raises httpx.ReadError: the connection failed after it was established, or the body exceeds
        ``max_body``.
    """

    def __init__(self, *, limit_per_host: int = 100, max_body: int = MAX_BODY_BYTES) -> None:
        self._limit_per_host = limit_per_host
        self._max_body = max_body
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=self._limit_per_host, keepalive_timeout=_KEEPALIVE_SECONDS
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the answer with its whole body read (see the class errors)."""
        session = self._open_session()
        body = await request.aread()
        try:
            async with session.request(
                request.method,
                str(request.url),
                headers=_outgoing_headers(request),
                data=body or None,
                allow_redirects=False,
                timeout=_client_timeout(request),
            ) as answer:
                return _buffered_response(answer, await self._read_body(answer, request), request)
        except httpx.TransportError:
            raise
        except Exception as exc:
            mapped = _httpx_error(exc, request)
            if mapped is None:
                raise
            raise mapped from exc

    async def _read_body(self, answer: aiohttp.ClientResponse, request: httpx.Request) -> bytes:
        declared = answer.content_length
        if declared is not None:
            if declared > self._max_body:
                answer.close()
                raise httpx.ReadError(f"response body exceeds {self._max_body} bytes", request=request)
            return await answer.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in answer.content.iter_chunked(_CHUNK_BYTES):
            size += len(chunk)
            if size > self._max_body:
                answer.close()
                raise httpx.ReadError(f"response body exceeds {self._max_body} bytes", request=request)
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        """Close the aiohttp session and its pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class OperatorClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` whose ``send`` hands the request straight to its transport.

    Operator calls use no client-level auth, cookies, redirects or event hooks, yet
    ``httpx.AsyncClient.send`` walks all of that machinery on every call (about a fifth of the
    gateway's CPU per one-tap login, measured with py-spy under ``bench/one_tap.py``). Here
    ``send`` ignores ``auth`` and ``follow_redirects`` (redirects are never followed), does not
    store cookies, honours the request's ``timeout`` extension through the transport, and always
    returns the response with its body read (``stream=True`` is refused). Each call is observed in
    ``gateway_operator_call_seconds``, labelled with the request's ``operator`` extension.

    A request with an ``operator`` extension goes through that operator's circuit in ``circuits``
    (none: no breaker). Failures are transport errors (refused, dropped, timed out) and HTTP 5xx;
    a cancellation counts as a timeout once the request's read timeout has run out (the adapters'
    whole-call deadline equals it), else as neither success nor failure.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport, circuits: OperatorCircuits | None = None) -> None:
        super().__init__(transport=transport, follow_redirects=False)
        self._operator_transport = transport
        self.circuits = circuits

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool = False,
        auth: object = None,
        follow_redirects: object = None,
    ) -> httpx.Response:
        """Send ``request`` through the transport and return the answer with its body read.

        :raises CircuitOpen: the operator's circuit is open; nothing was sent.
        """
        if stream:
            raise ValueError("OperatorClient reads every body whole; stream=True is not supported")
        operator = request.extensions.get("operator")
        label = str(operator or "unknown")
        breaker = self.circuits[operator] if self.circuits is not None and operator else None
        started = time.perf_counter()
        try:
            ticket = breaker.admit() if breaker is not None else None
        except CircuitOpenError as exc:
            OPERATOR_CALL_SECONDS.labels(label, request.url.path, "circuit_open").observe(
                time.perf_counter() - started
            )
            raise CircuitOpen(str(exc), request=request, retry_after=exc.retry_after) from None
        outcome = "error"
        result = CallResult.IGNORED
        try:
            response = await self._operator_transport.handle_async_request(request)
            response.request = request
            if isinstance(response.stream, httpx.SyncByteStream):
                response.read()
            else:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            outcome = _outcome(response.status_code)
            result = CallResult.FAILURE if response.status_code >= 500 else CallResult.SUCCESS
            return response
        except httpx.TimeoutException:
            outcome, result = "timeout", CallResult.FAILURE
            raise
        except httpx.ConnectError:
            outcome, result = "refused", CallResult.FAILURE
            raise
        except httpx.TransportError:
            result = CallResult.FAILURE
            raise
        except asyncio.CancelledError:
            if _past_deadline(request, time.perf_counter() - started):
                outcome, result = "timeout", CallResult.FAILURE
            raise
        finally:
            if breaker is not None and ticket is not None:
                breaker.record(ticket, result)
            OPERATOR_CALL_SECONDS.labels(label, request.url.path, outcome).observe(
                time.perf_counter() - started
            )


def _past_deadline(request: httpx.Request, elapsed: float) -> bool:
    read = request.extensions.get("timeout", {}).get("read")
    return read is not None and elapsed >= read - _DEADLINE_SLACK_SECONDS


def _outcome(status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    return f"http_{status // 100}xx"


def _publish_state(operator: str, state: CircuitState) -> None:
    OPERATOR_CIRCUIT_OPEN.labels(operator).set(0 if state is CircuitState.CLOSED else 1)
    if state is CircuitState.OPEN:
        log.warning("operator_circuit_opened", operator=operator)
    else:
        log.info("operator_circuit_changed", operator=operator, state=state.value)


def build_operator_client(
    *, limit_per_host: int = 100, circuit: CircuitPolicy | None = None
) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` the carrier adapters use in production; closing it closes the pool.

    ``circuit`` gives every operator a circuit breaker with that policy (none: no breaker); its
    state changes are logged and published in ``gateway_operator_circuit_open``.
    """
    circuits = OperatorCircuits(circuit, listener=_publish_state) if circuit is not None else None
    return OperatorClient(AiohttpTransport(limit_per_host=limit_per_host), circuits)
