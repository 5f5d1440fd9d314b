"""``Idempotency-Key`` on ``POST /push/v1/messages`` (draft-ietf-httpapi-idempotency-key-header, as Stripe).

The key is opaque: 1 to 255 visible ASCII characters. A record is ``(tenant, key)`` ->
(SHA-256 of the canonical request, the first response); it is written in the same transaction as
the message, so only an accepted request is recorded (a refused one may be retried with the same
key), and it is kept :data:`KEY_TTL`. The canonical request is the decoded JSON body as the
schema read it, serialised with sorted keys, no whitespace and UTF-8: key order, spacing and
escapes do not matter, any value does (an omitted ``ttlSeconds`` differs from an explicit one).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from gateway.errors import InvalidArgument

__all__ = ["HEADER", "KEY_TTL", "check_key", "fingerprint"]

HEADER = "Idempotency-Key"
KEY_TTL = timedelta(hours=24)
_KEY = re.compile(r"[\x21-\x7e]{1,255}")


def check_key(value: str) -> str:
    """The key as given.

    :raises InvalidArgument: empty, longer than 255 characters, or not visible ASCII.
    """
    if not _KEY.fullmatch(value):
        raise InvalidArgument(f"{HEADER} must be 1 to 255 visible ASCII characters.")
    return value


def fingerprint(body: Mapping[str, Any]) -> str:
    """Hex SHA-256 of the canonical JSON of ``body``."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
