"""The production transport of operator calls: :class:`carrier_adapters.Transport` over aiohttp.

:class:`AiohttpTransport` sends every call through one pooled ``aiohttp.ClientSession`` and is the
one place where an HTTP library's failures become carrier errors
(:mod:`carrier_adapters.transport`). :class:`GuardedTransport` puts each POST through its
operator's circuit breaker (:mod:`gateway.circuit`) and observes every call in
``gateway_operator_call_seconds``. :func:`build_operator_transport` composes the two.
"""

from __future__ import annotations

import time
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
import structlog
from aiohttp import hdrs

from carrier_adapters import (
    CarrierError,
    CarrierTimeout,
    CarrierUnavailable,
    CircuitOpen,
    Transport,
    dropped,
    refused,
    timed_out,
)
from gateway.circuit import (
    CallResult,
    CircuitOpenError,
    CircuitPolicy,
    CircuitState,
    OperatorCircuits,
    StateListener,
)
from gateway.metrics import OPERATOR_CALL_SECONDS, OPERATOR_CIRCUIT_OPEN

__all__ = [
    "MAX_BODY_BYTES",
    "AiohttpTransport",
    "ClosableTransport",
    "GuardedTransport",
    "build_operator_transport",
]

MAX_BODY_BYTES = 1024 * 1024
_CHUNK_BYTES = 64 * 1024
_KEEPALIVE_SECONDS = 30.0

log = structlog.get_logger(__name__)


class ClosableTransport(Transport, Protocol):
    """A transport holding connections that :meth:`aclose` closes."""

    async def aclose(self) -> None:
        """Close the transport's connections."""
        ...


class AiohttpTransport:
    """The :class:`~carrier_adapters.Transport` over one pooled ``aiohttp.ClientSession``.

    The session is made on first use (it needs the running loop) and closed by :meth:`aclose`.
    Redirects are not followed, cookies are not kept, the environment (proxies) is ignored, and
    an answer's body is read whole, decoded, up to ``max_body`` bytes. ``timeout`` bounds the whole
    call, body included. Failures (:mod:`carrier_adapters.transport`):

    - ``refused``: the connection could not be made (refused, name not resolved, TLS handshake);
    - ``timed_out``: any timeout, the connection's included;
    - ``dropped``: any other aiohttp failure (server disconnected, malformed or truncated answer),
      or an answer larger than ``max_body``.
    """

    def __init__(self, *, limit_per_host: int = 100, max_body: int = MAX_BODY_BYTES) -> None:
        self._limit_per_host = limit_per_host
        self._max_body = max_body
        self._session: aiohttp.ClientSession | None = None

    async def post(
        self,
        url: str,
        body: bytes,
        content_type: str,
        *,
        operator: str,
        timeout: float,  # noqa: ASYNC109 - the transport owns the call's deadline
        connect_timeout: float,
    ) -> tuple[int, bytes]:
        """See :meth:`carrier_adapters.Transport.post`; failures as the class says."""
        limits = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        headers = {hdrs.CONTENT_TYPE: content_type}
        try:
            async with self._open().post(
                url, data=body, headers=headers, allow_redirects=False, timeout=limits
            ) as answer:
                return answer.status, await self._read_body(answer, operator)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _carrier_error(operator, exc) from exc

    async def get(self, url: str, *, operator: str, timeout: float) -> int:  # noqa: ASYNC109
        """See :meth:`carrier_adapters.Transport.get`; failures as the class says."""
        limits = aiohttp.ClientTimeout(total=timeout)
        try:
            async with self._open().get(url, allow_redirects=False, timeout=limits) as answer:
                return answer.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _carrier_error(operator, exc) from exc

    async def aclose(self) -> None:
        """Close the session and its pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=0, limit_per_host=self._limit_per_host, keepalive_timeout=_KEEPALIVE_SECONDS
            )
            self._session = aiohttp.ClientSession(
                connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
            )
        return self._session

    async def _read_body(self, answer: aiohttp.ClientResponse, operator: str) -> bytes:
        declared = answer.content_length
        if declared is not None and declared > self._max_body:
            answer.close()
            raise dropped(operator, f"answer over {self._max_body} bytes")
        if declared is not None and hdrs.CONTENT_ENCODING not in answer.headers:
            return await answer.read()
        chunks: list[bytes] = []
        size = 0
        async for chunk in answer.content.iter_chunked(_CHUNK_BYTES):
            size += len(chunk)
            if size > self._max_body:
                answer.close()
                raise dropped(operator, f"answer over {self._max_body} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _carrier_error(operator: str, exc: TimeoutError | aiohttp.ClientError) -> CarrierError:
    """The carrier error of an aiohttp failure (see :class:`AiohttpTransport`); every aiohttp
    timeout is a ``TimeoutError``, a ``ClientConnectorError`` one that no connection was made."""
    if isinstance(exc, TimeoutError):
        return timed_out(operator)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return refused(operator)
    return dropped(operator, type(exc).__name__)


class GuardedTransport:
    """``inner`` behind per-operator circuit breakers, every call observed.

    A POST goes through its operator's circuit in ``circuits`` (none: no breaker): while the
    circuit is open it raises :class:`~carrier_adapters.CircuitOpen` without calling ``inner``.
    Failures are what ``inner`` raises as ``CarrierTimeout`` or ``CarrierUnavailable``, and HTTP
    5xx; any other answer is a success; a call ended otherwise (cancelled) is neither. A GET (the
    readiness ping) bypasses the breakers.

    Each call is observed in ``gateway_operator_call_seconds`` by operator, URL path and outcome:
    ``ok``, ``http_<N>xx``, ``timeout``, ``refused`` (nothing sent), ``error`` or ``circuit_open``.
    """

    def __init__(self, inner: ClosableTransport, circuits: OperatorCircuits | None = None) -> None:
        self.inner = inner
        self.circuits = circuits

    async def post(
        self,
        url: str,
        body: bytes,
        content_type: str,
        *,
        operator: str,
        timeout: float,  # noqa: ASYNC109 - the transport owns the call's deadline
        connect_timeout: float,
    ) -> tuple[int, bytes]:
        """See :meth:`carrier_adapters.Transport.post`.

        :raises CircuitOpen: the operator's circuit is open; nothing was sent.
        """
        path = urlsplit(url).path
        started = time.perf_counter()
        breaker = self.circuits[operator] if self.circuits is not None else None
        try:
            ticket = breaker.admit() if breaker is not None else None
        except CircuitOpenError as exc:
            _observe(operator, path, "circuit_open", started)
            raise CircuitOpen(operator, retry_after=exc.retry_after) from None
        outcome, result = "error", CallResult.IGNORED
        try:
            status, content = await self.inner.post(
                url, body, content_type, operator=operator, timeout=timeout, connect_timeout=connect_timeout
            )
        except (CarrierTimeout, CarrierUnavailable) as exc:
            outcome, result = _failure(exc), CallResult.FAILURE
            raise
        else:
            outcome = _outcome(status)
            result = CallResult.FAILURE if status >= 500 else CallResult.SUCCESS
            return status, content
        finally:
            if breaker is not None and ticket is not None:
                breaker.record(ticket, result)
            _observe(operator, path, outcome, started)

    async def get(self, url: str, *, operator: str, timeout: float) -> int:  # noqa: ASYNC109
        """See :meth:`carrier_adapters.Transport.get`; no breaker."""
        started = time.perf_counter()
        outcome = "error"
        try:
            status = await self.inner.get(url, operator=operator, timeout=timeout)
        except (CarrierTimeout, CarrierUnavailable) as exc:
            outcome = _failure(exc)
            raise
        else:
            outcome = _outcome(status)
            return status
        finally:
            _observe(operator, urlsplit(url).path, outcome, started)

    async def aclose(self) -> None:
        """Close ``inner``."""
        await self.inner.aclose()


def _observe(operator: str, path: str, outcome: str, started: float) -> None:
    OPERATOR_CALL_SECONDS.labels(operator, path, outcome).observe(time.perf_counter() - started)


def _failure(exc: CarrierTimeout | CarrierUnavailable) -> str:
    """The outcome label of a failed call: ``timeout``, ``refused`` (nothing sent) or ``error``."""
    if isinstance(exc, CarrierTimeout):
        return "timeout"
    return "refused" if exc.unsent else "error"


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


def build_operator_transport(
    *,
    limit_per_host: int = 100,
    circuit: CircuitPolicy | None = None,
    listener: StateListener | None = None,
) -> GuardedTransport:
    """The transport the carrier adapters use in production; :meth:`GuardedTransport.aclose` closes
    its connections.

    ``circuit`` gives every operator a circuit breaker with that policy (none: no breaker); its
    state changes are logged, published in ``gateway_operator_circuit_open`` and told to
    ``listener``.
    """

    def publish(operator: str, state: CircuitState) -> None:
        _publish_state(operator, state)
        if listener is not None:
            listener(operator, state)

    circuits = OperatorCircuits(circuit, listener=publish) if circuit is not None else None
    return GuardedTransport(AiohttpTransport(limit_per_host=limit_per_host), circuits)
