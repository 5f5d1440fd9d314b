"""China Mobile JSON bodies (``docs/operator-dialects.md``, "China Mobile"), as pydantic models.

Field names are the operator's. Answer models carry only what the adapter reads.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from carrier_adapters._wire import WireModel

__all__ = [
    "AUTHORIZE_PATH",
    "CHECK_PATH",
    "CHECK_VERSION",
    "CODE_PATH",
    "CODE_VERSION",
    "CUSTOMER_PATH",
    "DEVICE_PATH",
    "LOGIN_PATH",
    "LOGIN_VERSION",
    "QUERY_VERSION",
    "SIM_PATH",
    "SMS_FORMAT",
    "SMS_PATH",
    "SMS_VERSION",
    "CheckAnswer",
    "CheckBody",
    "CheckHeader",
    "CheckRequest",
    "CodeRequest",
    "CodeSuccess",
    "CustomerBody",
    "HistoryBody",
    "LoginAnswer",
    "LoginRequest",
    "LoginSuccess",
    "QueryAnswer",
    "QueryBody",
    "QueryRequest",
    "SmsAnswer",
    "SmsReply",
    "SmsReport",
    "SmsRequest",
]

LOGIN_PATH = "/unisdk/rsapi/loginTokenValidate"
LOGIN_VERSION = "2.0"
CHECK_PATH = "/openapi/rs/tokenValidate"
CHECK_VERSION = "1.0"
SIM_PATH = "/openapi/rs/simChangeQuery"
DEVICE_PATH = "/openapi/rs/deviceChangeQuery"
CUSTOMER_PATH = "/openapi/rs/custInfoQuery"
QUERY_VERSION = "1.0"
AUTHORIZE_PATH = "/unisdk/oauth2/authorize"
CODE_PATH = "/unisdk/rsapi/authCodeValidate"
CODE_VERSION = "2.0"
SMS_PATH = "/sms/v3/submit"
SMS_VERSION = "3.0"
SMS_FORMAT = "8"


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


class QueryBody(WireModel):
    """Body of a line query (``simChangeQuery``, ``deviceChangeQuery``, ``custInfoQuery``)."""

    msisdn: str
    sign: str


class QueryRequest(WireModel):
    """A line query: the ``tokenValidate`` header and a :class:`QueryBody`."""

    header: CheckHeader
    body: QueryBody


class QueryAnswer(WireModel):
    """Any line-query answer; ``body`` is validated per result."""

    header: _CheckAnswerHeader
    body: object = None


class HistoryBody(WireModel):
    """A history answer's body: the window, and the event on ``000``."""

    retentionHours: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,5}$")]
    changeTime: str | None = None
    changeType: Literal["0", "1"] | None = None


class CustomerBody(WireModel):
    """A ``000`` ``custInfoQuery`` body: the record under China Mobile's names."""

    custInfo: dict[str, object]


class CodeRequest(WireModel):
    """``authCodeValidate`` request; every value a string."""

    version: str
    msgid: str
    systemtime: str
    appid: str
    code: str
    redirect_uri: str
    sign: str


class CodeSuccess(LoginAnswer):
    """A ``103000`` code answer: the national number and ``authType`` (``2`` network, ``7`` SMS code)."""

    msisdn: str
    authType: Literal["2", "7"]


class SmsRequest(WireModel):
    """``sms/v3/submit`` request (CMPP ``SUBMIT``); fields in the signed order."""

    appid: str
    version: str
    systemtime: str
    spMsgId: str
    srcId: str
    destTerminalId: str
    msgFmt: str
    registeredDelivery: str
    msgContent: str
    sign: str


class SmsAnswer(WireModel):
    """Any submission answer; ``msgId`` (16 uppercase hex) comes with ``0``."""

    resultCode: str
    inresponseto: str | None = None
    msgId: Annotated[str, Field(pattern=r"^[0-9A-F]{16}$")] | None = None


class SmsReport(WireModel):
    """A ``DELIVER`` status report (``registeredDelivery`` ``1``)."""

    msgId: Annotated[str, Field(min_length=1, max_length=64)]
    stat: Annotated[str, Field(min_length=1, max_length=7)]
    doneTime: str
    spMsgId: Annotated[str, Field(min_length=1, max_length=64)]


class SmsReply(WireModel):
    """A ``DELIVER`` reply (``registeredDelivery`` ``0``); ``spMsgId`` names the SMS replied to, if known."""

    srcTerminalId: str
    msgContent: str
    spMsgId: Annotated[str, Field(max_length=64)] = ""
