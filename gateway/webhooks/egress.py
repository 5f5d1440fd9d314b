"""The outbound HTTP of webhook deliveries: one POST per attempt, guarded against SSRF at connect time.

Unless private webhooks are allowed, the aiohttp connector gets two guards, both applying
:func:`~gateway.webhooks.addresses.refusal_reason`:

- :class:`GuardedResolver` refuses a name if *any* of its A/AAAA answers is forbidden (so a name
  that turned private since registration, DNS rebinding included, is refused at send time);
- :func:`guarded_socket` is the connector's socket factory: it sees the exact address of every
  connection attempt, IP-literal hosts included (aiohttp does not resolve those), and refuses
  forbidden ones before a socket exists.

The DNS cache is off so each send resolves afresh. Redirects are never followed (a 3xx is a failed
attempt), proxies from the environment are ignored, cookies are not kept, and each attempt has one
overall timeout. Every outcome is a :class:`SendResult`; :meth:`WebhookSender.send` does not raise
for network failures.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from gateway.webhooks.addresses import UrlRefused, check_webhook_url, refusal_reason

__all__ = ["AddressRefused", "GuardedResolver", "SendResult", "WebhookSender", "guarded_socket"]

_USER_AGENT = "carrier-gateway-webhooks/1"
_SMALL_BODY = 64 * 1024


class AddressRefused(OSError):
    """A destination address the webhook policy forbids; ``str()`` says which and why."""


class GuardedResolver(AbstractResolver):
    """Resolves with ``inner`` (the system resolver by default) and refuses forbidden answers."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The answers for ``host``; raises :class:`AddressRefused` if any of them is forbidden."""
        answers = await self._inner.resolve(host, port, family)
        for answer in answers:
            reason = refusal_reason(answer["host"])
            if reason is not None:
                raise AddressRefused(f"the host resolves to {answer['host']}, a {reason} address")
        return answers

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()


def guarded_socket(addr_info: AddrInfoType) -> socket.socket:
    """A socket for ``addr_info`` if its address is allowed; raises :class:`AddressRefused` otherwise."""
    family, type_, proto, _, address = addr_info
    reason = refusal_reason(str(address[0]))
    if reason is not None:
        raise AddressRefused(f"{address[0]} is a {reason} address")
    return socket.socket(family=family, type=type_, proto=proto)


@dataclass(frozen=True, slots=True)
class SendResult:
    """One attempt's outcome: the answer's status, or ``error`` when no answer came."""

    status: int | None
    error: str | None
    duration_ms: int
    retry_after: str | None = None

    @property
    def delivered(self) -> bool:
        """Whether the receiver accepted the event (2xx)."""
        return self.status is not None and 200 <= self.status < 300


def _describe(exc: BaseException, timeout: float) -> str:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, AddressRefused):
            return f"refused: {cause}"
        cause = cause.__cause__ or (
            cause.os_error if isinstance(cause, aiohttp.ClientConnectorError) else None
        )
    if isinstance(exc, TimeoutError):
        return f"timeout: no answer within {timeout:g} s"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "dns: the name did not resolve"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "tls: the certificate is not valid for the host"
    if isinstance(exc, aiohttp.ClientSSLError):
        return "tls: handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"connect: {exc.os_error.strerror or type(exc.os_error).__name__}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "disconnected: the server closed the connection without answering"
    return f"http: {type(exc).__name__}"


class WebhookSender:
    """POSTs signed deliveries; see the module docstring. Close with :meth:`aclose`.

    ``resolver`` replaces the system resolver (tests inject names); ``ssl_context`` replaces the
    default certificate verification (tests trust their own CA). Both guards stay in place.
    """

    def __init__(
        self,
        *,
        allow_private: bool,
        timeout: float = 10.0,
        resolver: AbstractResolver | None = None,
        ssl_context: ssl.SSLContext | None = None,
        limit_per_host: int = 8,
    ) -> None:
        self._allow_private = allow_private
        self._timeout = timeout
        self._resolver = resolver
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._limit_per_host = limit_per_host
        self._session: aiohttp.ClientSession | None = None

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver: AbstractResolver = (
                (self._resolver or DefaultResolver())
                if self._allow_private
                else GuardedResolver(self._resolver)
            )
            connector = aiohttp.TCPConnector(
                resolver=resolver,
                socket_factory=None if self._allow_private else guarded_socket,
                use_dns_cache=False,
                limit=0,
                limit_per_host=self._limit_per_host,
                ssl=self._ssl,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                auto_decompress=False,
            )
        return self._session

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """POST ``body`` to ``url`` once; network failures and refusals come back as ``error``.

        ``Content-Type`` defaults to ``application/json``; ``headers`` may set another.
        """
        started = time.perf_counter()

        def elapsed() -> int:
            return round((time.perf_counter() - started) * 1000)

        try:
            check_webhook_url(url, allow_private=self._allow_private)
        except UrlRefused as exc:
            return SendResult(status=None, error=f"refused: {exc}", duration_ms=0)
        request_headers = {
            "Content-Type": "application/json",
            **headers,
            "User-Agent": _USER_AGENT,
        }
        try:
            async with self._open_session().post(
                url, data=body, headers=request_headers, allow_redirects=False
            ) as answer:
                if answer.content_length is not None and answer.content_length <= _SMALL_BODY:
                    await answer.read()
                status = answer.status
                retry_after = answer.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return SendResult(status=None, error=_describe(exc, self._timeout), duration_ms=elapsed())
        error = f"redirect not followed ({status})" if 300 <= status < 400 else None
        return SendResult(status=status, error=error, duration_ms=elapsed(), retry_after=retry_after)

    async def aclose(self) -> None:
        """Close the session and its pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
            await asyncio.sleep(0)
