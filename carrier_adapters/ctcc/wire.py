"""China Telecom form and JSON bodies (``docs/operator-dialects.md``, "China Telecom").

Field names are the operator's. Requests are form-encoded; every answer is the
``{result, msg, reqId, data}`` envelope whose ``data`` is validated only on success.
"""

from __future__ import annotations

from typing import Literal

from carrier_adapters._wire import WireModel

__all__ = [
    "CHECK_PATH",
    "CLIENT_TYPE",
    "FORMAT",
    "LOGIN_PATH",
    "SUCCESS",
    "VERSION",
    "Answer",
    "CheckData",
    "FormRequest",
    "LoginData",
]

LOGIN_PATH = "/openapi/networkauth/getMobile.do"
CHECK_PATH = "/openapi/networkauth/verifyMobile.do"
CLIENT_TYPE = "30100"
FORMAT = "json"
VERSION = "3.0"
SUCCESS = 0


class FormRequest(WireModel):
    """The form of both endpoints; ``params`` is the encrypted business parameters."""

    appId: str
    clientType: str
    format: str
    version: str
    timeStamp: str
    params: str
    sign: str


class Answer(WireModel):
    """The answer envelope of both endpoints."""

    result: int
    reqId: str | None = None
    data: object = None


class LoginData(WireModel):
    """Login success ``data``: the plain national number."""

    mobile: str
    authType: Literal["network", "sms"]


class CheckData(WireModel):
    """Check success ``data``: ``1`` match, ``0`` no match, ``2`` unknown."""

    isVerify: Literal["0", "1", "2"]
