"""Southbound HTTP shared by every adapter: body encoding, one send with its retry rule, ping.

The calls go through the adapter's :class:`~carrier_adapters.transport.Transport`, which reports
transport failures as carrier errors already. A single-use token is spent as soon as the request
reaches the operator, so :func:`send` retries only a refused connection (nothing was sent), and
not an open circuit (``docs/operator-dialects.md``); it turns an HTTP status other than 200 into a
carrier error.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode, urlsplit

from pydantic import BaseModel

from carrier_adapters.base import OperatorConfig
from carrier_adapters.errors import CarrierError, CarrierProtocolError, CarrierUnavailable, CircuitOpen
from carrier_adapters.transport import Transport

__all__ = ["FORM", "JSON", "checked_base_url", "form_body", "json_body", "ping", "send"]


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def checked_base_url(url: str) -> str:
    """``url`` without a trailing slash, once checked to be an http(s) URL with a host and no query
    or fragment (endpoint paths are appended to it).

    :raises ValueError: it is not one.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        raise ValueError("operator base URL is not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError("operator base URL must be http(s)://host[:port][/path]")
    return url.rstrip("/")


def json_body(payload: BaseModel) -> bytes:
    """``payload`` as compact UTF-8 JSON (not ASCII-escaped)."""
    return payload.model_dump_json().encode()


def form_body(payload: BaseModel) -> bytes:
    """``payload``, a model of flat string and integer fields, form-encoded."""
    return urlencode(payload.model_dump()).encode()


async def send(
    transport: Transport, config: OperatorConfig, url: str, body: bytes, content_type: str
) -> bytes:
    """POST ``body`` to ``url`` within ``config.timeout``; the body of the HTTP 200 answer.

    Sent again once, and only, after a refused connection (an unsent ``CarrierUnavailable`` other
    than :class:`CircuitOpen`), within what is left of ``config.timeout``.

    :raises CarrierTimeout, CarrierUnavailable: from the transport; HTTP 5xx is ``CarrierUnavailable``.
    :raises CarrierProtocolError: on any other status than 200.
    """
    operator = config.operator
    deadline = time.monotonic() + config.timeout
    try:
        status, content = await transport.post(
            url,
            body,
            content_type,
            operator=operator,
            timeout=config.timeout,
            connect_timeout=config.connect_timeout,
        )
    except CircuitOpen:
        raise
    except CarrierUnavailable as refusal:
        left = deadline - time.monotonic()
        if not refusal.unsent or left <= 0:
            raise
        status, content = await transport.post(
            url,
            body,
            content_type,
            operator=operator,
            timeout=left,
            connect_timeout=min(config.connect_timeout, left),
        )
    if status >= 500:
        raise CarrierUnavailable(operator, f"{operator} answered HTTP {status}")
    if status != 200:
        raise CarrierProtocolError(operator, f"{operator} answered HTTP {status}")
    return content


async def ping(transport: Transport, config: OperatorConfig) -> bool:
    """Whether ``config.base_url`` answers HTTP at all (any status) within ``config.connect_timeout``."""
    try:
        await transport.get(config.base_url, operator=config.operator, timeout=config.connect_timeout)
    except CarrierError:
        return False
    return True
