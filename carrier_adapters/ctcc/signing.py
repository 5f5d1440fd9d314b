"""China Telecom ``params`` envelope and signing (``docs/operator-dialects.md``, "China Telecom").

The business parameters travel as uppercase hex AES-128-ECB (key = first 16 bytes of appKey,
PKCS#7) of a ``k=v&k=v`` string; the form is signed with uppercase hex HMAC-SHA1 over the
concatenated values in a fixed order. SMS callbacks are JSON, signed in headers with uppercase hex
HMAC-SHA1 over the app id, the timestamp and the raw body.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from carrier_adapters._crypto import aes_encrypt

__all__ = ["callback_sign", "encrypt_params", "encrypt_value", "sign"]

_KEY_BYTES = 16


def encrypt_params(params: Mapping[str, str], app_key: str) -> str:
    """Uppercase hex AES-128-ECB of ``k=v&k=v`` (values raw, in the given order)."""
    plaintext = "&".join(f"{name}={value}" for name, value in params.items())
    return aes_encrypt(app_key.encode()[:_KEY_BYTES], plaintext.encode()).hex().upper()


def encrypt_value(value: str, app_key: str) -> str:
    """Uppercase hex AES-128-ECB of one value (the authorize request's ``loginHint``)."""
    return aes_encrypt(app_key.encode()[:_KEY_BYTES], value.encode()).hex().upper()


def sign(
    *, app_id: str, client_type: str, format: str, params: str, timestamp: str, version: str, app_key: str
) -> str:
    """Uppercase hex ``HMAC-SHA1(appKey, appId + clientType + format + params + timeStamp + version)``."""
    message = app_id + client_type + format + params + timestamp + version
    return hmac.new(app_key.encode(), message.encode(), hashlib.sha1).hexdigest().upper()


def callback_sign(*, app_id: str, timestamp: str, body: bytes, app_key: str) -> str:
    """Uppercase hex ``HMAC-SHA1(appKey, appId + timestamp + raw body bytes)``."""
    return hmac.new(app_key.encode(), (app_id + timestamp).encode() + body, hashlib.sha1).hexdigest().upper()
