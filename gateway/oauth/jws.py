"""``jwt.decode`` with pyjwt's base64url segment check done by one regular expression.

pyjwt 2.15 (GHSA-hxm8-2xgr-2p9m) checks every byte of every segment against the base64url
alphabet in a Python generator: for a 3-legged access token (about 800 bytes) that loop was 14% of
the instructions of a whole Number Verification call (callgrind, ``bench/instructions.py``), more
than its database read. :func:`decode` is ``jwt.decode`` on a :class:`jwt.PyJWT` whose JWS layer
overrides that one check with the same rule: at most two ``=`` of padding and only on a segment of
a multiple of four characters, never a length of 1 modulo 4, only base64url characters, and the
decoded bytes must encode back to the same segment (canonical encoding). Everything else (header,
algorithm allow-list, signature, claims) is pyjwt's own. The tests run both decoders over the same
malformed tokens and require the same outcome, and fail if pyjwt stops calling the override.
"""

from __future__ import annotations

import binascii
import re
from typing import Any

import jwt
from jwt.utils import base64url_decode, base64url_encode

__all__ = ["decode"]

_BASE64URL = re.compile(rb"[A-Za-z0-9_-]*")


class _JWS(jwt.PyJWS):
    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        stripped = segment.rstrip(b"=")
        padding = len(segment) - len(stripped)
        if (
            padding > 2
            or (padding and len(segment) % 4)
            or len(stripped) % 4 == 1
            or _BASE64URL.fullmatch(stripped) is None
        ):
            raise jwt.DecodeError(f"Invalid {name} padding")
        try:
            decoded = base64url_decode(stripped)
        except (TypeError, binascii.Error) as err:
            raise jwt.DecodeError(f"Invalid {name} padding") from err
        if base64url_encode(decoded) != stripped:
            raise jwt.DecodeError(f"Invalid {name} padding")
        return decoded


class _JWT(jwt.PyJWT):
    def __init__(self) -> None:
        super().__init__()
        self._jws = _JWS(options=self._get_sig_options())


_DECODER = _JWT()


def decode(token: str, key: Any, **kwargs: Any) -> dict[str, Any]:
    """``jwt.decode(token, key, **kwargs)``, with the faster segment check (module docstring).

    :raises jwt.PyJWTError: exactly when ``jwt.decode`` would.
    """
    claims: dict[str, Any] = _DECODER.decode(token, key, **kwargs)
    return claims
