"""Standard Webhooks signatures (v1, HMAC-SHA256) made with the reference ``standardwebhooks`` library.

Secrets are ``whsec_`` + base64 of 32 random bytes. The signed content is
``{webhook-id}.{webhook-timestamp}.{body}``; during a secret rotation every live secret signs and
``webhook-signature`` lists one ``v1,<base64>`` entry per secret (space-separated), newest first,
so a receiver still configured with the previous secret keeps verifying.
"""

from __future__ import annotations

import base64
import math
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

__all__ = ["SECRET_PREFIX", "new_secret", "signature_headers"]

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)  # nosec B105
_SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh endpoint secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


def signature_headers(
    message_id: str, timestamp: datetime, body: bytes, signing_secrets: Sequence[str]
) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` headers for ``body``."""
    if not signing_secrets:
        raise ValueError("at least one secret is needed to sign")
    text = body.decode()
    signatures = [Webhook(secret).sign(message_id, timestamp, text) for secret in signing_secrets]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(math.floor(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
