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
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
import httpx
import structlog
import yarl
from aiohttp import hdrs

from carrier_adapters import CircuitOpen
from gateway.circuit import CallResult, CircuitOpenError, CircuitPolicy, CircuitState, OperatorCircuits
from gateway.metrics import OPERATOR_CALL_SECONDS, OPERATOR_CIRCUIT_OPEN

__all__ = ["MAX_BODY_BYTES", "AiohttpTransport", "OperatorClient", "build_operator_client"]

MAX_BODY_BYTES = 1024 * 1024
_CHUNK_BYTES = 64 * 1024
_KEEPALIVE_SECONDS = 30.0
_DEADLINE_SLACK_SECONDS = 0.05
_T = TypeVar("_T")

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


def _httpx_error(exc: Exception, request: httpx.Request | None) -> httpx.TransportError | None:
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


@functools.lru_cache(maxsize=4)
def _content_type(value: str) -> dict[str, str]:
    return {hdrs.CONTENT_TYPE: value}


@functools.lru_cache(maxsize=256)
def _target(url: str) -> yarl.URL:
    """``url`` parsed by yarl once (aiohttp would parse the text on every call)."""
    return yarl.URL(url)


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
    answer: aiohttp.ClientResponse, content: bytes, request: httpx.Request | None
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
        body = await request.aread()
        answer, content = await self._exchange(
            request.method,
            str(request.url),
            _outgoing_headers(request),
            body or None,
            _client_timeout(request),
            request,
        )
        return _buffered_response(answer, content, request)

    async def post(
        self, url: yarl.URL, body: bytes, content_type: str, limits: aiohttp.ClientTimeout
    ) -> tuple[int, bytes]:
        """POST ``body`` to ``url``: the status and the whole body, decoded of any ``Content-Encoding``
        (by httpx, as for :meth:`handle_async_request`); no httpx request or response is built for
        an answer without one. Raises as the class says."""
        answer, content = await self._exchange("POST", url, _content_type(content_type), body, limits, None)
        if hdrs.CONTENT_ENCODING in answer.headers:
            return answer.status, _buffered_response(answer, content, None).read()
        return answer.status, content

    async def _exchange(
        self,
        method: str,
        url: str | yarl.URL,
        headers: list[tuple[str, str]] | dict[str, str],
        body: bytes | None,
        limits: aiohttp.ClientTimeout,
        request: httpx.Request | None,
    ) -> tuple[aiohttp.ClientResponse, bytes]:
        session = self._open_session()
        try:
            async with session.request(
                method, url, headers=headers, data=body, allow_redirects=False, timeout=limits
            ) as answer:
                return answer, await self._read_body(answer, request)
        except httpx.TransportError:
            raise
        except Exception as exc:
            mapped = _httpx_error(exc, request)
            if mapped is None:
                raise
            raise mapped from exc

    async def _read_body(self, answer: aiohttp.ClientResponse, request: httpx.Request | None) -> bytes:
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
    """An ``httpx.AsyncClient`` whose ``send`` hands the request straight to its transport, and a
    :class:`~carrier_adapters.BodyPoster` (``post_body``) that skips httpx's objects altogether.

    Operator calls use no client-level auth, cookies, redirects or event hooks, yet
    ``httpx.AsyncClient.send`` walks all of that machinery on every call (about a fifth of the
    gateway's CPU per one-tap login, measured with py-spy under ``bench/one_tap.py``). Here
    ``send`` ignores ``auth`` and ``follow_redirects`` (redirects are never followed), does not
    store cookies, honours the request's ``timeout`` extension through the transport, and always
    returns the response with its body read (``stream=True`` is refused). ``post_body`` goes to
    :meth:`AiohttpTransport.post` when that is the transport (else through ``send``). Each call of
    either is observed in ``gateway_operator_call_seconds``, labelled with its operator (a
    request's ``operator`` extension) and URL path.

    A call with an operator goes through that operator's circuit in ``circuits`` (none: no
    breaker). Failures are transport errors (refused, dropped, timed out) and HTTP 5xx; a
    cancellation counts as a timeout once the call's read timeout has run out (the adapters'
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

        async def exchange() -> httpx.Response:
            response = await self._operator_transport.handle_async_request(request)
            response.request = request
            if isinstance(response.stream, httpx.SyncByteStream):
                response.read()
            else:
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            return response

        operator = request.extensions.get("operator")
        read_timeout = request.extensions.get("timeout", {}).get("read")
        return await self._guarded(operator, request.url.path, read_timeout, exchange, _status_code, request)

    async def post_body(
        self,
        url: str,
        body: bytes,
        content_type: str,
        *,
        operator: str,
        read_timeout: float,
        connect_timeout: float,
    ) -> tuple[int, bytes]:
        """See :class:`carrier_adapters.BodyPoster`; the transport's timeouts are those ``send``
        applies to a request whose ``timeout`` extension is ``httpx.Timeout(read_timeout,
        connect=connect_timeout)``.

        :raises CircuitOpen: the operator's circuit is open; nothing was sent.
        """
        transport = self._operator_transport
        if not isinstance(transport, AiohttpTransport):
            timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
            request = httpx.Request(
                "POST",
                url,
                headers={"Content-Type": content_type},
                content=body,
                extensions={"timeout": timeout.as_dict(), "operator": operator},
            )
            response = await self.send(request)
            return response.status_code, response.content
        target = _target(url)
        client_timeout = _aiohttp_timeout(connect_timeout, read_timeout, read_timeout)
        exchange = functools.partial(transport.post, target, body, content_type, client_timeout)
        return await self._guarded(operator, target.path, read_timeout, exchange, _first, None)

    async def _guarded(
        self,
        operator: object,
        path: str,
        read_timeout: float | None,
        exchange: Callable[[], Awaitable[_T]],
        status_of: Callable[[_T], int],
        request: httpx.Request | None,
    ) -> _T:
        """``exchange()``'s answer, through the operator's circuit and observed (class docstring);
        ``status_of`` reads its HTTP status. ``exchange`` is called, not wrapped: no coroutine
        frame of its own between the caller and the transport."""
        label = str(operator or "unknown")
        breaker = self.circuits[operator] if self.circuits is not None and isinstance(operator, str) else None
        started = time.perf_counter()
        try:
            ticket = breaker.admit() if breaker is not None else None
        except CircuitOpenError as exc:
            OPERATOR_CALL_SECONDS.labels(label, path, "circuit_open").observe(time.perf_counter() - started)
            raise CircuitOpen(str(exc), request=request, retry_after=exc.retry_after) from None
        outcome = "error"
        result = CallResult.IGNORED
        try:
            answer = await exchange()
            status = status_of(answer)
            outcome = _outcome(status)
            result = CallResult.FAILURE if status >= 500 else CallResult.SUCCESS
            return answer
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
            elapsed = time.perf_counter() - started
            if read_timeout is not None and elapsed >= read_timeout - _DEADLINE_SLACK_SECONDS:
                outcome, result = "timeout", CallResult.FAILURE
            raise
        finally:
            if breaker is not None and ticket is not None:
                breaker.record(ticket, result)
            OPERATOR_CALL_SECONDS.labels(label, path, outcome).observe(time.perf_counter() - started)


def _status_code(response: httpx.Response) -> int:
    return response.status_code


def _first(answer: tuple[int, bytes]) -> int:
    return answer[0]


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
