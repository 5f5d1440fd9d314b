"""AES-128 with PKCS#7 padding, the number/params envelope of ``cucc`` (CBC) and ``ctcc`` (ECB).

Both modes are mandated by the operators' dialects (``docs/operator-dialects.md``); ECB only ever
protects one short, fresh, signed parameter string.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["aes_decrypt", "aes_encrypt"]

_BLOCK_BITS = 128


def _cipher(key: bytes, iv: bytes | None) -> Cipher[modes.CBC] | Cipher[modes.ECB]:
    if iv is None:
        return Cipher(algorithms.AES(key), modes.ECB())  # noqa: S305 - the ctcc dialect mandates ECB  # nosec B305
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def aes_encrypt(key: bytes, plaintext: bytes, *, iv: bytes | None = None) -> bytes:
    """AES (CBC with ``iv``, else ECB) over PKCS#7-padded ``plaintext``."""
    padder = padding.PKCS7(_BLOCK_BITS).padder()
    encryptor = _cipher(key, iv).encryptor()
    return encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()


def aes_decrypt(key: bytes, ciphertext: bytes, *, iv: bytes | None = None) -> bytes:
    """Inverse of :func:`aes_encrypt`.

    :raises ValueError: if ``ciphertext`` is not whole blocks or its padding is wrong.
    """
    decryptor = _cipher(key, iv).decryptor()
    unpadder = padding.PKCS7(_BLOCK_BITS).unpadder()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    return unpadder.update(padded) + unpadder.finalize()
