"""The request and callback signing shared by the MaaP and card-platform clients, and their one call.

``docs/operator-dialects.md``, "5G messages" and "Card SMS": a request is a JSON ``POST`` whose query
carries ``timestamp`` (epoch ms), ``nonce`` and an HMAC-SHA256 over the path relative to the platform
root, the timestamp, the nonce and the SHA-256 of the body; a callback carries the same HMAC (without
the path) in headers. These platforms answer with HTTP statuses, so :func:`call` hands back every
status below 500 for the client to judge.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Final
from urllib.parse import urlencode

from carrier_adapters.errors import CarrierProtocolError, CarrierRejected, CarrierUnavailable, CircuitOpen
from carrier_adapters.transport import Transport

__all__ = [
    "WINDOW_MS",
    "call",
    "epoch_ms",
    "lowercase",
    "request_signature",
    "signed_query",
    "verify_callback",
]

WINDOW_MS: Final = 300_000
_JSON: Final = "application/json"


def epoch_ms(now: datetime) -> int:
    """``now`` (aware) as Unix epoch milliseconds."""
    return int(now.timestamp() * 1000)


def request_signature(secret: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """Lowercase hex ``HMAC-SHA256(secret, path\\ntimestamp\\nnonce\\nsha256hex(body))``."""
    message = f"{path}\n{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def callback_signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """Lowercase hex ``HMAC-SHA256(secret, timestamp\\nnonce\\nsha256hex(body))``."""
    message = f"{timestamp}\n{nonce}\n{hashlib.sha256(body).hexdigest()}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_query(
    secret: str,
    path: str,
    body: bytes,
    now: datetime,
    *,
    sign_name: str,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The query string of a signed request (``extra`` first, then timestamp, nonce, signature)."""
    timestamp = str(epoch_ms(now))
    nonce = secrets.token_hex(16)
    signature = request_signature(secret, path, timestamp, nonce, body)
    return urlencode({**(extra or {}), "timestamp": timestamp, "nonce": nonce, sign_name: signature})


def lowercase(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with lowercase names."""
    return {name.lower(): value for name, value in headers.items()}


def verify_callback(
    operator: str,
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    prefix: str,
    now: datetime,
) -> None:
    """Check a callback's ``x-{prefix}-timestamp``/``-nonce`` and its signature header (lowercase names).

    :raises CarrierRejected: a header is missing, the signature does not verify, or the timestamp is
        more than 300 s from ``now``.
    """
    timestamp = headers.get(f"x-{prefix}-timestamp", "")
    nonce = headers.get(f"x-{prefix}-nonce", "")
    given = headers.get(f"x-{prefix}-signature") or headers.get(f"x-{prefix}-sign") or ""
    expected = callback_signature(secret, timestamp, nonce, body)
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CarrierRejected(operator, f"{operator} callback signature does not verify")
    if not timestamp.isdigit() or abs(epoch_ms(now) - int(timestamp)) > WINDOW_MS:
        raise CarrierRejected(operator, f"{operator} callback timestamp outside the window")


async def call(
    transport: Transport,
    operator: str,
    url: Callable[[], str],
    body: bytes,
    *,
    timeout: float,  # noqa: ASYNC109 - the transport owns the deadline
    connect_timeout: float,
) -> tuple[int, bytes]:
    """POST ``body`` (JSON) to ``url()``; the status (below 500) and body of the answer.

    ``url()`` is built per attempt (a fresh timestamp and nonce). Sent again once, and only, after a
    refused connection (nothing was sent) within what is left of ``timeout``.

    :raises CarrierTimeout, CarrierUnavailable: from the transport; HTTP 5xx is ``CarrierUnavailable``.
    """
    deadline = time.monotonic() + timeout
    try:
        status, content = await transport.post(
            url(), body, _JSON, operator=operator, timeout=timeout, connect_timeout=connect_timeout
        )
    except CircuitOpen:
        raise
    except CarrierUnavailable as refusal:
        left = deadline - time.monotonic()
        if not refusal.unsent or left <= 0:
            raise
        status, content = await transport.post(
            url(), body, _JSON, operator=operator, timeout=left, connect_timeout=min(connect_timeout, left)
        )
    if status >= 500:
        raise CarrierUnavailable(operator, f"{operator} answered HTTP {status}")
    return status, content


def utc_now() -> datetime:
    """The system clock, aware UTC."""
    return datetime.now(UTC)


def unexpected_status(operator: str, status: int) -> CarrierProtocolError:
    """The error of an HTTP status the dialect does not document for this call."""
    return CarrierProtocolError(operator, f"{operator} answered HTTP {status}")
