"""China Mobile JSON bodies (``docs/operator-dialects.md``, "China Mobile"), as pydantic models.

Field names are the operator's. Answer models carry only what the adapter reads.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field

from carrier_adapters._wire import WireModel

__all__ = [
    "CHECK_PATH",
    "CHECK_VERSION",
    "LOGIN_PATH",
    "LOGIN_VERSION",
    "CheckAnswer",
    "CheckBody",
    "CheckHeader",
    "CheckRequest",
    "LoginAnswer",
    "LoginRequest",
    "LoginSuccess",
]

LOGIN_PATH = "/unisdk/rsapi/loginTokenValidate"
LOGIN_VERSION = "2.0"
CHECK_PATH = "/openapi/rs/tokenValidate"
CHECK_VERSION = "1.0"


class LoginRequest(WireModel):
    """``loginTokenValidate`` request; every value a string."""

    version: str
    msgid: str
    systemtime: str
    strictcheck: str
    appid: str
    token: str
    sign: str


class LoginAnswer(WireModel):
    """Any ``loginTokenValidate`` answer (``resultcode`` accepted in either case, as CMCC's examples vary)."""

    resultCode: str = Field(validation_alias=AliasChoices("resultCode", "resultcode"))
    inresponseto: str | None = None


class LoginSuccess(LoginAnswer):
    """A ``103000`` answer: the national number and how the subscriber was authenticated."""

    msisdn: str
    authType: Literal["2", "3"]


class CheckHeader(WireModel):
    """``tokenValidate`` request header."""

    version: str
    msgId: str
    timestamp: str
    appId: str


class CheckBody(WireModel):
    """``tokenValidate`` request body; ``phoneNum`` is the hashed number."""

    openType: str
    requesterType: str
    keyType: str
    token: str
    phoneNum: str
    sign: str


class CheckRequest(WireModel):
    """``tokenValidate`` request envelope."""

    header: CheckHeader
    body: CheckBody


class _CheckAnswerHeader(WireModel):
    resultCode: str
    msgId: str | None = None


class CheckAnswer(WireModel):
    """Any ``tokenValidate`` answer; only the header matters to the adapter."""

    header: _CheckAnswerHeader
