"""PKCE (RFC 7636) with ``S256`` only: ``plain`` would let anyone who sees the challenge redeem the code.

The challenge is ``BASE64URL(SHA256(code_verifier))``, 43 characters; the verifier is 43 to 128
unreserved characters (§4.1). Comparison is constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from gateway.crypto import b64url_encode

__all__ = ["CHALLENGE_METHOD", "is_challenge", "is_verifier", "s256", "verifies"]

CHALLENGE_METHOD = "S256"
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


def s256(verifier: str) -> str:
    """The S256 challenge of ``verifier``."""
    return b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest())


def is_challenge(value: str) -> bool:
    """Whether ``value`` has the shape of an S256 challenge."""
    return _CHALLENGE.match(value) is not None


def is_verifier(value: str) -> bool:
    """Whether ``value`` is a syntactically valid code verifier."""
    return _VERIFIER.match(value) is not None


def verifies(verifier: str, challenge: str) -> bool:
    """Whether ``verifier`` is the one ``challenge`` was derived from."""
    return is_verifier(verifier) and hmac.compare_digest(s256(verifier), challenge)
