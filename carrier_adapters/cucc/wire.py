"""China Unicom JSON bodies (``docs/operator-dialects.md``, "China Unicom"), as pydantic models.

Field names are the operator's. Requests are flat string maps; every answer is the
``{code, msg, seqId, data}`` envelope whose ``data`` is validated only on success.
"""

from __future__ import annotations

from typing import Literal

from carrier_adapters._wire import WireModel

__all__ = [
    "CHECK_PATH",
    "LOGIN_PATH",
    "SUCCESS",
    "Answer",
    "CheckData",
    "CheckRequest",
    "LoginData",
    "LoginRequest",
]

LOGIN_PATH = "/openapi/netauth/v2/mobile"
CHECK_PATH = "/openapi/netauth/v2/verify"
SUCCESS = "0000"


class LoginRequest(WireModel):
    """``/v2/mobile`` request."""

    appId: str
    timestamp: str
    nonce: str
    token: str
    sign: str


class CheckRequest(LoginRequest):
    """``/v2/verify`` request; ``mobile`` is the encrypted national number."""

    mobile: str


class Answer(WireModel):
    """The answer envelope of both endpoints."""

    code: str
    seqId: str | None = None
    data: object = None


class LoginData(WireModel):
    """Login success ``data``; ``mobile`` is the encrypted national number."""

    mobile: str
    authType: Literal["network", "sms"]


class CheckData(WireModel):
    """Check success ``data``: ``1`` match, ``0`` no match, ``2`` unknown."""

    result: Literal["0", "1", "2"]
