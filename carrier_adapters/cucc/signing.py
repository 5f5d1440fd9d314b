"""China Unicom signing and number encryption (``docs/operator-dialects.md``, "China Unicom").

Every request is signed with lowercase hex HMAC-SHA256 over its non-empty fields sorted by name
(``k=v&k=v``, raw values); numbers travel AES-128-CBC encrypted, key and IV being the two halves
of the lowercase hex ``MD5(appKey)``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from carrier_adapters._crypto import aes_decrypt, aes_encrypt

__all__ = ["decrypt", "decrypt_number", "encrypt_number", "sign"]


def sign(fields: Mapping[str, str], app_key: str) -> str:
    """HMAC-SHA256 over ``k=v&...`` of every non-empty field except ``sign``, sorted by name."""
    message = "&".join(
        f"{name}={value}" for name, value in sorted(fields.items()) if value and name != "sign"
    )
    return hmac.new(app_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _key_and_iv(app_key: str) -> tuple[bytes, bytes]:
    digest = hashlib.md5(app_key.encode(), usedforsecurity=False).hexdigest().encode()
    return digest[:16], digest[16:]


def encrypt_number(national: str, app_key: str) -> str:
    """Lowercase hex AES-128-CBC ciphertext of a national number."""
    key, iv = _key_and_iv(app_key)
    return aes_encrypt(key, national.encode(), iv=iv).hex()


def decrypt(ciphertext: str, app_key: str) -> bytes:
    """The plaintext of lowercase hex AES-128-CBC ciphertext (numbers, customer records).

    :raises ValueError: if ``ciphertext`` is not hex, not whole blocks or badly padded.
    """
    key, iv = _key_and_iv(app_key)
    return aes_decrypt(key, bytes.fromhex(ciphertext), iv=iv)


def decrypt_number(ciphertext: str, app_key: str) -> str:
    """Inverse of :func:`encrypt_number`.

    :raises ValueError: if ``ciphertext`` is not hex, not whole blocks, badly padded or not ASCII.
    """
    key, iv = _key_and_iv(app_key)
    return aes_decrypt(key, bytes.fromhex(ciphertext), iv=iv).decode("ascii")
