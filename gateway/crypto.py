"""Field-level encryption and keyed lookup hashes for personal data at rest.

- :class:`FieldCipher`: AES-256-GCM, random 96-bit nonce, AAD binding a ciphertext to its
  tenant, table and column so it cannot be moved between rows; stored as
  ``<key version>.<base64url(nonce || ciphertext)>``. Decrypts with any configured key version,
  encrypts with the current one, so keys rotate by prepending a new version.
- :class:`BlindIndex`: ``HMAC-SHA256(index key, scope || value)``, scoped per tenant so rows
  cannot be correlated across tenants; lookups try every configured key version.

Keys come from settings as ``"v2:<base64url 32 bytes>,v1:<...>"`` (first = current).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "BlindIndex",
    "DecryptionError",
    "FieldCipher",
    "Keyring",
    "b64url_decode",
    "b64url_encode",
    "generate_keyring_spec",
]


class DecryptionError(Exception):
    """A ciphertext could not be authenticated with any configured key."""


def b64url_decode(text: str) -> bytes:
    """Decode unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    """Encode as unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate_keyring_spec(version: str = "v1") -> str:
    """A fresh single-key keyring specification (32 random bytes)."""
    return f"{version}:{b64url_encode(secrets.token_bytes(32))}"


@dataclass(frozen=True, slots=True)
class Keyring:
    """Versioned 256-bit keys; the first one is current."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        """Parse ``"v2:<b64>,v1:<b64>"``; raises ValueError on a malformed spec or short key."""
        keys: list[tuple[str, bytes]] = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            version, sep, material = part.partition(":")
            if not sep or not version.isalnum() or "." in version:
                raise ValueError("key entries must look like 'v1:<base64url>'")
            key = b64url_decode(material)
            if len(key) != 32:
                raise ValueError(f"key {version} must be 32 bytes")
            keys.append((version, key))
        if not keys or len({v for v, _ in keys}) != len(keys):
            raise ValueError("a keyring needs at least one key and unique versions")
        return cls(tuple(keys))

    @property
    def current(self) -> tuple[str, bytes]:
        """The (version, key) used for new writes."""
        return self.keys[0]

    def get(self, version: str) -> bytes | None:
        """The key of ``version``, if configured."""
        return dict(self.keys).get(version)


class FieldCipher:
    """AES-256-GCM for single columns; see the module docstring for the format."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    def encrypt(self, plaintext: str, *, aad: str) -> str:
        """Encrypt ``plaintext`` under the current key, bound to ``aad``."""
        version, key = self._keyring.current
        nonce = os.urandom(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), aad.encode())
        return f"{version}.{b64url_encode(nonce + sealed)}"

    def decrypt(self, stored: str, *, aad: str) -> str:
        """Decrypt a value written by :meth:`encrypt` with the same ``aad``.

        :raises DecryptionError: unknown key version, tampering, or wrong ``aad``.
        """
        version, _, body = stored.partition(".")
        key = self._keyring.get(version)
        if key is None:
            raise DecryptionError("unknown key version")
        raw = b64url_decode(body)
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], aad.encode()).decode()
        except (InvalidTag, ValueError) as exc:
            raise DecryptionError("ciphertext does not authenticate") from exc

    def needs_rotation(self, stored: str) -> bool:
        """Whether ``stored`` was written under an older key version."""
        return stored.partition(".")[0] != self._keyring.current[0]


class BlindIndex:
    """Keyed, scoped lookup hashes; see the module docstring."""

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    @staticmethod
    def _digest(key: bytes, scope: str, value: str) -> str:
        return hmac.new(key, f"{scope}\x00{value}".encode(), hashlib.sha256).hexdigest()[:40]

    def compute(self, value: str, *, scope: str) -> str:
        """The index of ``value`` under the current key (for writes)."""
        version, key = self._keyring.current
        return f"{version}:{self._digest(key, scope, value)}"

    def candidates(self, value: str, *, scope: str) -> list[str]:
        """The index of ``value`` under every configured key (for lookups across a rotation)."""
        return [f"{v}:{self._digest(k, scope, value)}" for v, k in self._keyring.keys]
