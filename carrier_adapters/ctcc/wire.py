"""China Telecom form and JSON bodies (``docs/operator-dialects.md``, "China Telecom").

Field names are the operator's. Requests are form-encoded; every answer is the
``{result, msg, reqId, data}`` envelope whose ``data`` is validated only on success.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from carrier_adapters._wire import WireModel

__all__ = [
    "AUTHORIZE_PATH",
    "CHECK_PATH",
    "CLIENT_TYPE",
    "CODE_PATH",
    "CUSTOMER_PATH",
    "DEVICE_PATH",
    "FORMAT",
    "LOGIN_PATH",
    "NO_DEVICE_RECORD",
    "SIM_PATH",
    "SMS_FORMAT",
    "SMS_PATH",
    "SUCCESS",
    "VERSION",
    "Answer",
    "CheckData",
    "CodeData",
    "FormRequest",
    "HistoryData",
    "LoginData",
    "SmsData",
    "SmsDeliver",
]

LOGIN_PATH = "/openapi/networkauth/getMobile.do"
CHECK_PATH = "/openapi/networkauth/verifyMobile.do"
SIM_PATH = "/openapi/lineinfo/querySimChange.do"
DEVICE_PATH = "/openapi/lineinfo/queryDeviceChange.do"
CUSTOMER_PATH = "/openapi/lineinfo/queryRealName.do"
AUTHORIZE_PATH = "/openapi/oauth/authorize.do"
CODE_PATH = "/openapi/oauth/getMobileByCode.do"
NO_DEVICE_RECORD = -30001
CLIENT_TYPE = "30100"
FORMAT = "json"
VERSION = "3.0"
SUCCESS = 0
SMS_PATH = "/smgp/submit.do"
SMS_FORMAT = "8"


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


class HistoryData(WireModel):
    """History success ``data``: ``changeTime`` empty when nothing is disclosed within ``retainDays``."""

    changeTime: str
    changeType: Literal["0", "1", ""] = ""
    retainDays: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,4}$")]


class CodeData(WireModel):
    """Code success ``data``: the plain national number and ``authMode`` (1 enrichment, 2 SMS code)."""

    mobile: str
    authMode: Literal["1", "2"]


class SmsData(WireModel):
    """Submission success ``data``: SMGP's 10-byte BCD ``MsgID`` as 20 digits."""

    msgId: Annotated[str, Field(pattern=r"^[0-9]{20}$")]


class SmsDeliver(WireModel):
    """An SMGP ``DELIVER`` callback: a status report (``isReport`` 1) or a reply (0)."""

    msgId: Annotated[str, Field(min_length=1, max_length=64)]
    isReport: Literal[0, 1]
    msgFormat: int
    srcTermId: str
    destTermId: str
    msgContent: str
    recvTime: Annotated[str, Field(pattern=r"^[0-9]{14}$")]
    clientMsgId: Annotated[str, Field(max_length=64)] = ""
