"""Southbound HTTP plumbing shared by every adapter: one send, one retry rule, one error translation.

Owns the transport half of the adapter boundary (``docs/operator-dialects.md``, and
``aesthetics.md`` section 8.2): httpx exceptions are translated into :mod:`carrier_adapters.errors`
here and nowhere else. A single-use token is spent as soon as the request reaches the operator, so
the only retry is after ``httpx.ConnectError`` (the connection was refused: nothing was sent),
and not after :class:`~carrier_adapters.errors.CircuitOpen` (the client refuses to call at all).

Every call is a POST of a body already encoded. The client is any ``httpx.AsyncClient`` (respx
mocks one in the tests), driven through ``httpx.Request`` and ``httpx.Response``; a client that
also has ``post_body`` (:class:`~carrier_adapters.base.BodyPoster`, as the gateway's production
client does) is handed the URL and the body instead, and answers the status and the body. Both
ways share the deadline, the retry rule and the error translation here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel

from carrier_adapters.base import OperatorConfig
from carrier_adapters.errors import (
    CarrierError,
    CarrierProtocolError,
    CarrierTimeout,
    CarrierUnavailable,
    CircuitOpen,
)

__all__ = [
    "Endpoint",
    "carrier_error",
    "form_body",
    "json_body",
    "ping",
    "post_request",
    "send",
]


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An operator URL, parsed once: httpx's form, and its text for a :class:`BodyPoster`."""

    url: httpx.URL
    text: str

    @classmethod
    def of(cls, url: str) -> Endpoint:
        """Parse ``url``.

        :raises httpx.InvalidURL: not a URL.
        """
        parsed = httpx.URL(url)
        return cls(parsed, str(parsed))


def json_body(payload: BaseModel) -> bytes:
    """``payload`` as httpx's ``json=`` encodes it: compact, UTF-8, not ASCII-escaped (pydantic's
    serializer does it in about a quarter of the time of httpx's own encoding path)."""
    return payload.model_dump_json().encode()


def form_body(payload: BaseModel) -> bytes:
    """``payload``, a model of flat string and integer fields, as httpx's ``data=`` encodes it."""
    return urlencode(payload.model_dump()).encode()


def post_request(url: httpx.URL, body: bytes, content_type: str) -> httpx.Request:
    """The httpx POST of an encoded body, already read: with :func:`json_body` (:data:`JSON`) or
    :func:`form_body` (:data:`FORM`), the same headers and bytes as ``httpx.Request("POST", url,
    json=...)`` or ``data=...`` would build."""
    headers = [
        (b"Host", url.netloc),
        (b"Content-Length", b"%d" % len(body)),
        (b"Content-Type", content_type.encode()),
    ]
    request = httpx.Request("POST", url, headers=headers, stream=httpx.ByteStream(body))
    request.read()
    return request


def carrier_error(operator: str, exc: Exception) -> CarrierError | None:
    """The carrier error of an httpx transport failure or an expired deadline, else None.

    ``CarrierTimeout`` for any ``httpx.TimeoutException`` or ``TimeoutError``;
    ``CarrierUnavailable`` for ``httpx.ConnectError`` (``unsent``) and every other
    ``httpx.TransportError``, and for :class:`CircuitOpen` with its ``retry_after`` (``unsent``).
    """
    if isinstance(exc, CircuitOpen):
        message = f"{operator} is unavailable (circuit open)"
        return CarrierUnavailable(operator, message, retry_after=exc.retry_after, unsent=True)
    if isinstance(exc, httpx.ConnectError):
        return CarrierUnavailable(operator, f"{operator} refused the connection", unsent=True)
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return CarrierTimeout(operator, f"{operator} did not answer in time")
    if isinstance(exc, httpx.TransportError):
        return CarrierUnavailable(operator, f"{operator} connection failed ({type(exc).__name__})")
    return None


async def send(
    client: httpx.AsyncClient, config: OperatorConfig, endpoint: Endpoint, body: bytes, content_type: str
) -> bytes:
    """POST ``body`` to ``endpoint`` within ``config.timeout``; the body of the HTTP 200 answer.

    The request is sent again once, and only, after an ``httpx.ConnectError`` other than
    :class:`CircuitOpen`. An httpx request carries the operator code in its ``operator``
    extension, for the client's metrics (a :class:`~carrier_adapters.base.BodyPoster` is given it).

    :raises CarrierTimeout, CarrierUnavailable: see :func:`carrier_error`; HTTP 5xx is
        ``CarrierUnavailable``.
    :raises CarrierProtocolError: on any other status than 200.
    """
    operator = config.operator
    post_body: Callable[..., Awaitable[tuple[int, bytes]]] | None = getattr(client, "post_body", None)
    if post_body is None:
        request = post_request(endpoint.url, body, content_type)
        timeout = httpx.Timeout(config.timeout, connect=config.connect_timeout)
        request.extensions["timeout"] = timeout.as_dict()
        request.extensions["operator"] = operator

        def attempt() -> Awaitable[tuple[int, bytes]]:
            return _via_httpx(client, request)

    else:
        poster = post_body

        def attempt() -> Awaitable[tuple[int, bytes]]:
            return poster(
                endpoint.text,
                body,
                content_type,
                operator=operator,
                read_timeout=config.timeout,
                connect_timeout=config.connect_timeout,
            )

    try:
        async with asyncio.timeout(config.timeout):
            try:
                status, content = await attempt()
            except CircuitOpen:
                raise
            except httpx.ConnectError:
                status, content = await attempt()
    except Exception as exc:
        error = carrier_error(operator, exc)
        if error is None:
            raise
        raise error from exc
    if status >= 500:
        raise CarrierUnavailable(operator, f"{operator} answered HTTP {status}")
    if status != 200:
        raise CarrierProtocolError(operator, f"{operator} answered HTTP {status}")
    return content


async def _via_httpx(client: httpx.AsyncClient, request: httpx.Request) -> tuple[int, bytes]:
    response = await client.send(request)
    return response.status_code, response.content


async def ping(client: httpx.AsyncClient, config: OperatorConfig) -> bool:
    """Whether ``config.base_url`` answers HTTP at all (any status) within ``config.connect_timeout``."""
    try:
        async with asyncio.timeout(config.connect_timeout):
            await client.get(config.base_url, timeout=config.connect_timeout)
    except (httpx.TransportError, TimeoutError):
        return False
    return True
