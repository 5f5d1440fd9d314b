"""Cryptographic primitives the operator dialects are built from (digests, HMACs, AES).

Every function takes and returns text the way the dialects put it on the wire; which hex case a
dialect uses is the caller's business. Decryption failures raise :class:`ValueError`.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = [
    "aes_cbc_decrypt",
    "aes_cbc_encrypt",
    "aes_ecb_decrypt",
    "aes_ecb_encrypt",
    "hmac_sha1_hex",
    "hmac_sha256_hex",
    "md5_hex",
    "sha256_hex",
]

_BLOCK_BITS = algorithms.AES.block_size


def md5_hex(text: str) -> str:
    """Lowercase hex MD5 of the UTF-8 text."""
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()  # the cmcc and cucc dialects


def sha256_hex(text: str) -> str:
    """Lowercase hex SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode()).hexdigest()


def hmac_sha256_hex(key: str, message: str) -> str:
    """Lowercase hex HMAC-SHA256 of the UTF-8 message under the UTF-8 key."""
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def hmac_sha1_hex(key: str, message: str) -> str:
    """Lowercase hex HMAC-SHA1 of the UTF-8 message under the UTF-8 key."""
    return hmac.new(key.encode(), message.encode(), hashlib.sha1).hexdigest()


def aes_cbc_encrypt(plaintext: bytes, *, key: bytes, iv: bytes) -> bytes:
    """AES-CBC with PKCS#7 padding."""
    return _encrypt(plaintext, key, modes.CBC(iv))


def aes_cbc_decrypt(ciphertext: bytes, *, key: bytes, iv: bytes) -> bytes:
    """Inverse of :func:`aes_cbc_encrypt`; ValueError on a bad length or padding."""
    return _decrypt(ciphertext, key, modes.CBC(iv))


def aes_ecb_encrypt(plaintext: bytes, *, key: bytes) -> bytes:
    """AES-ECB with PKCS#7 padding."""
    return _encrypt(plaintext, key, modes.ECB())  # noqa: S305 - ctcc dialect  # nosec B305


def aes_ecb_decrypt(ciphertext: bytes, *, key: bytes) -> bytes:
    """Inverse of :func:`aes_ecb_encrypt`; ValueError on a bad length or padding."""
    return _decrypt(ciphertext, key, modes.ECB())  # noqa: S305 - ctcc dialect  # nosec B305


def _encrypt(plaintext: bytes, key: bytes, mode: modes.CBC | modes.ECB) -> bytes:
    padder = padding.PKCS7(_BLOCK_BITS).padder()
    encryptor = Cipher(algorithms.AES(key), mode).encryptor()
    return encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()


def _decrypt(ciphertext: bytes, key: bytes, mode: modes.CBC | modes.ECB) -> bytes:
    decryptor = Cipher(algorithms.AES(key), mode).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(_BLOCK_BITS).unpadder()
    return unpadder.update(padded) + unpadder.finalize()
