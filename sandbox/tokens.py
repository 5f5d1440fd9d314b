"""One-tap tokens: per-operator shapes and lifetimes, minting, and the checks every operator runs.

The operators differ only in how they word a :class:`Verdict` on the wire.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

from sandbox.config import Operator
from sandbox.state import AuthType, IssuedToken, Purpose, SandboxState

__all__ = ["LIFETIMES", "Verdict", "mint", "redeem"]

LIFETIMES: Final[Mapping[Operator, int]] = {"cmcc": 120, "cucc": 1800, "ctcc": 600}

_SHAPES: Final[Mapping[Operator, re.Pattern[str]]] = {
    "cmcc": re.compile(r"(?:STsid|H5HTTPS)[0-9a-f]{32}"),
    "cucc": re.compile(r"CUAT[A-Za-z0-9_-]{40}"),
    "ctcc": re.compile(r"CTA0[0-9a-f]{40}"),
}


class Verdict(Enum):
    """What an operator concludes about a presented token."""

    ACCEPTED = "accepted"
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    WRONG_APP = "wrong_app"
    REPLAYED = "replayed"
    WRONG_PURPOSE = "wrong_purpose"


def mint(
    state: SandboxState,
    *,
    phone_number: str,
    operator: Operator,
    app_id: str,
    purpose: Purpose,
    auth_type: AuthType,
    now: datetime,
) -> IssuedToken:
    """Issue a fresh token of ``operator``'s shape, valid for that operator's lifetime."""
    token = IssuedToken(
        value=_new_value(operator, purpose),
        phone_number=phone_number,
        operator=operator,
        app_id=app_id,
        purpose=purpose,
        auth_type=auth_type,
        expires_at=now + timedelta(seconds=LIFETIMES[operator]),
    )
    state.tokens.issue(token, now=now)
    return token


def redeem(
    state: SandboxState,
    value: str,
    *,
    operator: Operator,
    app_id: str,
    purposes: frozenset[Purpose],
    now: datetime,
) -> tuple[Verdict, IssuedToken | None]:
    """Check ``value`` as presented to ``operator`` by ``app_id``; the token comes back only if accepted.

    Checks run in this order: shape, existence, expiry, app, prior use, purpose. Only an accepted
    token is consumed (marked used).
    """
    if _SHAPES[operator].fullmatch(value) is None:
        return Verdict.MALFORMED, None
    token = state.tokens.get(value)
    if token is None or token.operator != operator:
        return Verdict.UNKNOWN, None
    if now >= token.expires_at:
        return Verdict.EXPIRED, None
    if token.app_id != app_id:
        return Verdict.WRONG_APP, None
    if token.used:
        return Verdict.REPLAYED, None
    if token.purpose not in purposes:
        return Verdict.WRONG_PURPOSE, None
    token.used = True
    return Verdict.ACCEPTED, token


def _new_value(operator: Operator, purpose: Purpose) -> str:
    if operator == "cmcc":
        return ("H5HTTPS" if purpose == "h5" else "STsid") + secrets.token_hex(16)
    if operator == "cucc":
        return "CUAT" + secrets.token_urlsafe(30)
    return "CTA0" + secrets.token_hex(20)
