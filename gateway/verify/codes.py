"""One-time codes and the check URL's capability, both keyed with the blind-index keys.

A code is stored only as its blind index under a scope naming the request, so a database dump
does not reveal it and trying every code offline needs the key; it is compared in constant time
under every configured key (a rotation keeps pending codes valid). The check URL carries
``<request id>.vck_<MAC of the id>``: nothing to store, and a guessed id opens nothing; log lines
replace the ``vck_`` part like a token (:mod:`gateway.logs`).
"""

from __future__ import annotations

import hmac
import secrets

from gateway.crypto import BlindIndex

__all__ = ["check_token", "code_index", "code_matches", "new_code", "request_of_token"]

_CHECK_SCOPE = "verify-check"
_MAC_PREFIX = "vck_"


def _code_scope(request_id: str) -> str:
    return f"verify-code|{request_id}"


def new_code(length: int) -> str:
    """``length`` random decimal digits (leading zeros kept)."""
    return "".join(secrets.choice("0123456789") for _ in range(length))


def code_index(index: BlindIndex, request_id: str, code: str) -> str:
    """What is stored of ``code``."""
    return index.compute(code, scope=_code_scope(request_id))


def code_matches(index: BlindIndex, request_id: str, code: str, stored: str) -> bool:
    """Whether ``code`` is the one ``stored`` was computed from (constant time per key)."""
    found = False
    for candidate in index.candidates(code, scope=_code_scope(request_id)):
        found |= hmac.compare_digest(candidate, stored)
    return found


def _mac(index: BlindIndex, request_id: str) -> str:
    return index.compute(request_id, scope=_CHECK_SCOPE).split(":", 1)[1]


def check_token(index: BlindIndex, request_id: str) -> str:
    """The path segment of the request's check URL."""
    return f"{request_id}.{_MAC_PREFIX}{_mac(index, request_id)}"


def request_of_token(index: BlindIndex, token: str) -> str | None:
    """The request id ``token`` was made for, or None when it was not made with a configured key."""
    request_id, _, tagged = token.partition(".")
    mac = tagged.removeprefix(_MAC_PREFIX)
    if not request_id or len(request_id) > 40 or not mac or mac == tagged:
        return None
    found = False
    for candidate in index.candidates(request_id, scope=_CHECK_SCOPE):
        found |= hmac.compare_digest(candidate.split(":", 1)[1], mac)
    return request_id if found else None
