"""China Unicom JSON bodies (``docs/operator-dialects.md``, "China Unicom"), as pydantic models.

Field names are the operator's. Requests are flat string maps; every answer is the
``{code, msg, seqId, data}`` envelope whose ``data`` is validated only on success.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from carrier_adapters._wire import WireModel

__all__ = [
    "AUTHORIZE_PATH",
    "CHECK_PATH",
    "CODE_PATH",
    "CUSTOMER_PATH",
    "DEVICE_PATH",
    "LOGIN_PATH",
    "SIM_PATH",
    "SMS_CODING",
    "SMS_PATH",
    "SUCCESS",
    "Answer",
    "CheckData",
    "CheckRequest",
    "CodeData",
    "CodeRequest",
    "HistoryData",
    "LoginData",
    "LoginRequest",
    "QueryRequest",
    "RecordData",
    "SmsData",
    "SmsDeliver",
    "SmsReport",
    "SmsRequest",
]

LOGIN_PATH = "/openapi/netauth/v2/mobile"
CHECK_PATH = "/openapi/netauth/v2/verify"
SIM_PATH = "/openapi/lineinfo/v1/simchange"
DEVICE_PATH = "/openapi/lineinfo/v1/devicechange"
CUSTOMER_PATH = "/openapi/lineinfo/v1/realname"
AUTHORIZE_PATH = "/openapi/netauth/v2/authorize"
CODE_PATH = "/openapi/netauth/v2/code"
SMS_PATH = "/sgip/submit"
SMS_CODING = "8"
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


class QueryRequest(WireModel):
    """A line query; ``mobile`` is the encrypted national number."""

    appId: str
    timestamp: str
    nonce: str
    mobile: str
    sign: str


class HistoryData(WireModel):
    """History success ``data``: ``status`` 1 disclosed, 2 outside the window, 3 no record."""

    status: Literal["1", "2", "3"]
    windowHours: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,5}$")]
    changeTime: Annotated[str, Field(pattern=r"^[0-9]{1,14}$")] | None = None
    changeType: Literal["swap", "activation"] | None = None


class RecordData(WireModel):
    """Realname success ``data``: the encrypted JSON record (lowercase hex)."""

    record: str


class CodeRequest(WireModel):
    """``/v2/code`` request."""

    appId: str
    timestamp: str
    nonce: str
    code: str
    redirectUri: str
    sign: str


class CodeData(WireModel):
    """Code success ``data``: the encrypted national number and the method."""

    mobile: str
    authMethod: Literal["network", "sms_otp"]


class SmsRequest(WireModel):
    """``sgip/submit`` form (SGIP ``SUBMIT``); ``userNumber`` is the encrypted national number."""

    appId: str
    timestamp: str
    nonce: str
    spNumber: str
    userNumber: str
    spSequence: str
    messageCoding: str
    reportFlag: str
    messageContent: str
    sign: str


class SmsData(WireModel):
    """Submission success ``data``: the SGIP sequence number that reports name."""

    submitSeq: Annotated[str, Field(min_length=1, max_length=64)]


class SmsReport(WireModel):
    """An SGIP ``REPORT`` callback: ``state`` 0 delivered, 1 waiting, 2 failed."""

    submitSeq: Annotated[str, Field(min_length=1, max_length=64)]
    spSequence: Annotated[str, Field(min_length=1, max_length=64)]
    state: Literal["0", "1", "2"]
    errorCode: str = ""
    doneTime: str


class SmsDeliver(WireModel):
    """An SGIP ``DELIVER`` callback (a reply); ``userNumber`` is the encrypted national number."""

    userNumber: str
    messageContent: str
    recvTime: str
    spSequence: Annotated[str, Field(max_length=64)] = ""
