"""Southbound HTTP plumbing shared by every adapter: one send, one retry rule, one error translation.

Owns the transport half of the adapter boundary (``docs/operator-dialects.md``, and
``aesthetics.md`` section 8.2): httpx exceptions are translated into :mod:`carrier_adapters.errors`
here and nowhere else. A single-use token is spent as soon as the request reaches the operator, so
the only retry is after ``httpx.ConnectError`` (the connection was refused: nothing was sent),
and not after :class:`~carrier_adapters.errors.CircuitOpen` (the client refuses to call at all).
"""

from __future__ import annotations

import asyncio
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

__all__ = ["carrier_error", "form_post", "json_post", "ping", "send"]


_JSON = b"application/json"
_FORM = b"application/x-www-form-urlencoded"


def json_post(url: httpx.URL, payload: BaseModel) -> httpx.Request:
    """``httpx.Request("POST", url, json=payload.model_dump())``: the same headers and an equal
    body (compact, UTF-8, not ASCII-escaped), built by pydantic's serializer and httpx's ``stream=``
    constructor in about a quarter of the time (29 us per call in httpx's own encoding path)."""
    return _post(url, payload.model_dump_json().encode(), _JSON)


def form_post(url: httpx.URL, payload: BaseModel) -> httpx.Request:
    """``httpx.Request("POST", url, data=payload.model_dump())`` for a model of flat string and
    integer fields, built like :func:`json_post`."""
    return _post(url, urlencode(payload.model_dump()).encode(), _FORM)


def _post(url: httpx.URL, body: bytes, content_type: bytes) -> httpx.Request:
    headers = [(b"Host", url.netloc), (b"Content-Length", b"%d" % len(body)), (b"Content-Type", content_type)]
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


async def send(client: httpx.AsyncClient, config: OperatorConfig, request: httpx.Request) -> bytes:
    """Send ``request`` within ``config.timeout`` and return the body of the HTTP 200 answer.

    The request is sent again once, and only, after an ``httpx.ConnectError`` other than
    :class:`CircuitOpen`. The request carries
    the operator code in its ``operator`` extension, for the client's metrics.

    :raises CarrierTimeout, CarrierUnavailable: see :func:`carrier_error`; HTTP 5xx is
        ``CarrierUnavailable``.
    :raises CarrierProtocolError: on any other status than 200.
    """
    operator = config.operator
    request.extensions["timeout"] = httpx.Timeout(config.timeout, connect=config.connect_timeout).as_dict()
    request.extensions["operator"] = operator
    try:
        async with asyncio.timeout(config.timeout):
            try:
                response = await client.send(request)
            except CircuitOpen:
                raise
            except httpx.ConnectError:
                response = await client.send(request)
    except Exception as exc:
        error = carrier_error(operator, exc)
        if error is None:
            raise
        raise error from exc
    if response.status_code >= 500:
        raise CarrierUnavailable(operator, f"{operator} answered HTTP {response.status_code}")
    if response.status_code != 200:
        raise CarrierProtocolError(operator, f"{operator} answered HTTP {response.status_code}")
    return response.content


async def ping(client: httpx.AsyncClient, config: OperatorConfig) -> bool:
    """Whether ``config.base_url`` answers HTTP at all (any status) within ``config.connect_timeout``."""
    try:
        async with asyncio.timeout(config.connect_timeout):
            await client.get(config.base_url, timeout=config.connect_timeout)
    except (httpx.TransportError, TimeoutError):
        return False
    return True
