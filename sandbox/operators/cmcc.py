"""China Mobile's southbound dialect: ``loginTokenValidate`` (one-tap login), ``tokenValidate`` (check),
the line queries (``simChangeQuery``, ``deviceChangeQuery``, ``custInfoQuery``), network
authorization (``unisdk/oauth2/*``) and its code exchange (``authCodeValidate``).

All answer HTTP 200 with the dialect's envelope whatever the result. Choices the dialect leaves open:

- Login has no bad-parameters code. A body that is not a JSON object carrying every signed field as
  a string with its documented value (``version`` "2.0", ``strictcheck`` "0", ``msgid`` of 1-36
  characters, 17-digit ``systemtime``) answers ``103101``: the operator cannot authenticate it. A
  missing or unregistered ``appid`` answers ``103119``; a missing or empty ``token`` ``103811``.
- The check answers ``102`` to any request that is not the documented envelope of strings
  (``version`` "1.0", ``keyType`` "0", ``requesterType`` "0"/"1", ``openType`` "0"-"3", 17-digit
  ``timestamp``, ``phoneNum`` as 64 uppercase hex characters, a non-empty ``token``).
- No timestamp window is documented for China Mobile, so only the timestamps' shape is checked.
- ``002`` (unknown) answers a check whose token is valid but whose subscriber has since been removed.
- The line queries check, in this order: the envelope (``102``), ``appId`` (``103``), the signature
  (``302``), then the line (``201``, ``202``).
- ``authCodeValidate`` checks like ``loginTokenValidate``: a body that is not the documented JSON
  object of strings answers ``103101``, then ``appid`` (``103119``), an empty ``code`` (``103811``),
  the signature, then the code.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Final

from aiohttp import web

from sandbox.clock import Clock
from sandbox.config import AppCredentials, Operator
from sandbox.crypto import hmac_sha256_hex, md5_hex, sha256_hex
from sandbox.kyc import rename
from sandbox.lines import (
    RETENTION_HOURS,
    Disclosure,
    History,
    LineStatus,
    device_history,
    find_line,
    sim_history,
)
from sandbox.netauth import AuthorizationDialect, CodeVerdict, NetworkAuthorization
from sandbox.numbers import NATIONAL_PATTERN, to_national
from sandbox.operators._wire import read_json_object, same_text, string_fields
from sandbox.state import AuthCode, AuthMethod, AuthType, IssuedToken, Purpose, SandboxState, Subscriber
from sandbox.tokens import Verdict, redeem

__all__ = ["AUTHORIZATION", "AUTHORIZE_PATH", "ENRICHMENT_HEADER", "CmccOperator"]

_BEIJING: Final = timezone(timedelta(hours=8))
_SYSTEMTIME: Final = re.compile(r"[0-9]{17}")
_MSGID: Final = re.compile(r".{1,36}", re.DOTALL)
_PHONE_DIGEST: Final = re.compile(r"[0-9A-F]{64}")
_LOGIN_FIELDS: Final = ("version", "msgid", "systemtime", "strictcheck", "sign")
_HEADER_FIELDS: Final = ("version", "msgId", "timestamp", "appId")
_BODY_FIELDS: Final = ("openType", "requesterType", "keyType", "token", "phoneNum", "sign")
_LOGIN_PURPOSES: Final[frozenset[Purpose]] = frozenset({"login"})
_CHECK_PURPOSES: Final[frozenset[Purpose]] = frozenset({"verify", "h5"})
_AUTH_TYPE_CODES: Final[Mapping[AuthType, str]] = {"network": "2", "sms": "3"}

_LOGIN_SUCCESS: Final = "103000"
_LOGIN_SIGN_ERROR: Final = "103101"
_LOGIN_APPID_UNKNOWN: Final = "103119"
_LOGIN_EMPTY: Final = "103811"
_LOGIN_CODES: Final[Mapping[Verdict, str]] = {
    Verdict.MALFORMED: "103113",
    Verdict.UNKNOWN: "104201",
    Verdict.EXPIRED: "104201",
    Verdict.WRONG_APP: "103113",
    Verdict.REPLAYED: "103505",
    Verdict.WRONG_PURPOSE: "103113",
}

_CHECK_DESCRIPTIONS: Final[Mapping[str, str]] = {
    "000": "the token's phone is this number",
    "001": "not this number",
    "002": "number fetch failed",
    "102": "bad parameters",
    "103": "appId unknown",
    "302": "sign error",
    "606": "token invalid",
}

_NATIONAL: Final = re.compile(NATIONAL_PATTERN)
_QUERY_BODY_FIELDS: Final = ("msisdn", "sign")
_LINE_CODES: Final[Mapping[LineStatus, str]] = {LineStatus.UNKNOWN: "201", LineStatus.NOT_ELIGIBLE: "202"}
_HISTORY_CODES: Final[Mapping[Disclosure, str]] = {
    Disclosure.DISCLOSED: "000",
    Disclosure.OUTSIDE_WINDOW: "001",
    Disclosure.NO_RECORD: "002",
}
_QUERY_DESCRIPTIONS: Final[Mapping[str, str]] = {
    "000": "success",
    "001": "no change within the retention period",
    "002": "no record",
    "102": "bad parameters",
    "103": "appId unknown",
    "201": "not a China Mobile subscriber",
    "202": "line not eligible for this service",
    "203": "no customer record",
    "302": "sign error",
}
_RETENTION: Final = str(RETENTION_HOURS["cmcc"])
_CUST_INFO_NAMES: Final[Mapping[str, str]] = {
    "name": "custName",
    "givenName": "firstName",
    "familyName": "lastName",
    "middleNames": "middleName",
    "familyNameAtBirth": "birthLastName",
    "idDocument": "certCode",
    "idDocumentType": "certType",
    "idDocumentExpiryDate": "certExpireDate",
    "address": "custAddress",
    "streetName": "street",
    "streetNumber": "streetNo",
    "houseNumberExtension": "houseNoExt",
    "postalCode": "postCode",
    "region": "province",
    "locality": "city",
    "country": "countryCode",
    "birthdate": "birthday",
    "email": "email",
    "gender": "sex",
    "cityOfBirth": "birthCity",
    "countryOfBirth": "birthCountry",
    "nationality": "nationality",
}
_SEX_CODES: Final[Mapping[str, str]] = {"MALE": "1", "FEMALE": "2", "OTHER": "9"}

_CODE_FIELDS: Final = ("version", "msgid", "systemtime", "redirect_uri", "sign")
_CODE_RESULTS: Final[Mapping[CodeVerdict, str]] = {
    CodeVerdict.MALFORMED: "103113",
    CodeVerdict.UNKNOWN: "104201",
    CodeVerdict.EXPIRED: "104201",
    CodeVerdict.WRONG_APP: "103113",
    CodeVerdict.REPLAYED: "103505",
    CodeVerdict.WRONG_REDIRECT: "103113",
}
_METHOD_CODES: Final[Mapping[AuthMethod, str]] = {"network": "2", "sms_otp": "7"}


def _plain_hint(value: str) -> str | None:
    return value if _NATIONAL.fullmatch(value) else None


AUTHORIZE_PATH: Final = "/cmcc/unisdk/oauth2/authorize"
ENRICHMENT_HEADER: Final = "x-up-calling-line-id"
AUTHORIZATION: Final = AuthorizationDialect(
    operator="cmcc",
    brand="中国移动",
    authorize_path=AUTHORIZE_PATH,
    number_path="/cmcc/unisdk/oauth2/sms",
    code_path="/cmcc/unisdk/oauth2/verify",
    app_id_param="appid",
    redirect_param="redirect_uri",
    hint_param="login_hint",
    enrichment_header=ENRICHMENT_HEADER,
    number_field="msisdn",
    code_field="smsCode",
    sms_sender="10086",
    sms_text="【中国移动】您的登录验证码是{otp}，5分钟内有效。如非本人操作，请忽略本短信。",  # noqa: RUF001
    code_shape=re.compile(r"CMAC[0-9a-f]{32}"),
    new_code=lambda: "CMAC" + secrets.token_hex(16),
    code_lifetime=timedelta(seconds=60),
    decode_hint=_plain_hint,
)


class CmccOperator:
    """China Mobile serving one registered application."""

    def __init__(self, *, state: SandboxState, app: AppCredentials, clock: Clock) -> None:
        self._state = state
        self._app = app
        self._clock = clock
        self._authorization = NetworkAuthorization(AUTHORIZATION, state=state, app=app, clock=clock)

    def routes(self) -> list[web.RouteDef]:
        """The operator's southbound routes."""
        return [
            web.post("/cmcc/unisdk/rsapi/loginTokenValidate", self.login),
            web.post("/cmcc/openapi/rs/tokenValidate", self.check),
            web.post("/cmcc/openapi/rs/simChangeQuery", self.sim_change),
            web.post("/cmcc/openapi/rs/deviceChangeQuery", self.device_change),
            web.post("/cmcc/openapi/rs/custInfoQuery", self.cust_info),
            web.post("/cmcc/unisdk/rsapi/authCodeValidate", self.exchange_code),
            *self._authorization.routes(),
        ]

    async def sim_change(self, request: web.Request) -> web.Response:
        """The line's latest SIM change (or activation) within the retention period."""
        return await self._history(request, sim_history)

    async def device_change(self, request: web.Request) -> web.Response:
        """The line's latest device change (or first device) within the retention period."""
        return await self._history(request, device_history)

    async def cust_info(self, request: web.Request) -> web.Response:
        """The line's verified customer record, under China Mobile's names."""
        header, result_code, subscriber = await self._line_query(request)
        if subscriber is None:
            return _query_answer(header, result_code, self._clock.now())
        if not subscriber.kyc:
            return _query_answer(header, "203", self._clock.now())
        record = rename(subscriber.kyc, _CUST_INFO_NAMES, dates=True, genders=_SEX_CODES)
        return _query_answer(header, "000", self._clock.now(), {"custInfo": record})

    async def exchange_code(self, request: web.Request) -> web.Response:
        """Exchange an authorization code for the national number and how it was authenticated."""
        fields = await read_json_object(request)
        now = self._clock.now()
        result_code, code = self._exchange(fields, now)
        msgid = fields.get("msgid") if fields is not None else None
        answer: dict[str, str] = {
            "inresponseto": msgid if isinstance(msgid, str) else "",
            "systemtime": _beijing_time(now),
            "resultCode": result_code,
        }
        if code is not None:
            answer["msisdn"] = to_national(code.phone_number) or ""
            answer["authType"] = _METHOD_CODES[code.method]
        return web.json_response(answer)

    async def _history(
        self, request: web.Request, history: Callable[[Subscriber, Operator, datetime], History]
    ) -> web.Response:
        header, result_code, subscriber = await self._line_query(request)
        now = self._clock.now()
        if subscriber is None:
            return _query_answer(header, result_code, now)
        found = history(subscriber, "cmcc", now)
        body = {"retentionHours": _RETENTION}
        if found.at is not None:
            body |= {"changeTime": _beijing_time(found.at), "changeType": "1" if found.is_change else "0"}
        return _query_answer(header, _HISTORY_CODES[found.disclosure], now, body)

    async def _line_query(self, request: web.Request) -> tuple[object, str, Subscriber | None]:
        """The request header (to echo), a failure result code, and the line when it is served."""
        document = await read_json_object(request)
        header = document.get("header") if document is not None else None
        header_fields = string_fields(header, _HEADER_FIELDS)
        body = document.get("body") if document is not None else None
        body_fields = string_fields(body, _QUERY_BODY_FIELDS)
        if header_fields is None or body_fields is None:
            return header, "102", None
        version, msg_id, timestamp, app_id = header_fields
        msisdn, sign = body_fields
        if (
            version != "1.0"
            or not msg_id
            or _SYSTEMTIME.fullmatch(timestamp) is None
            or _NATIONAL.fullmatch(msisdn) is None
        ):
            return header, "102", None
        if app_id != self._app.app_id:
            return header, "103", None
        expected = hmac_sha256_hex(self._app.app_key, app_id + msg_id + msisdn + timestamp + version).upper()
        if not same_text(sign, expected):
            return header, "302", None
        status, subscriber = find_line(self._state, msisdn, "cmcc")
        if subscriber is None:
            return header, _LINE_CODES[status], None
        return header, "000", subscriber

    def _exchange(self, fields: Mapping[str, object] | None, now: datetime) -> tuple[str, AuthCode | None]:
        if fields is None:
            return _LOGIN_SIGN_ERROR, None
        if fields.get("appid") != self._app.app_id:
            return _LOGIN_APPID_UNKNOWN, None
        code = fields.get("code")
        if code is None or code == "":
            return _LOGIN_EMPTY, None
        signed = string_fields(fields, _CODE_FIELDS)
        if signed is None or not isinstance(code, str):
            return _LOGIN_SIGN_ERROR, None
        version, msgid, systemtime, redirect_uri, sign = signed
        if version != "2.0" or _MSGID.fullmatch(msgid) is None or _SYSTEMTIME.fullmatch(systemtime) is None:
            return _LOGIN_SIGN_ERROR, None
        expected = md5_hex(
            self._app.app_id + version + msgid + systemtime + code + redirect_uri + self._app.app_key
        ).upper()
        if not same_text(sign, expected):
            return _LOGIN_SIGN_ERROR, None
        verdict, issued = self._authorization.redeem(
            code, app_id=self._app.app_id, redirect_uri=redirect_uri, now=now
        )
        if issued is None:
            return _CODE_RESULTS[verdict], None
        return _LOGIN_SUCCESS, issued

    async def login(self, request: web.Request) -> web.Response:
        """Exchange a ``login`` token for the national number and how it was authenticated."""
        fields = await read_json_object(request)
        now = self._clock.now()
        result_code, token = self._login(fields, now)
        msgid = fields.get("msgid") if fields is not None else None
        answer: dict[str, str] = {
            "inresponseto": msgid if isinstance(msgid, str) else "",
            "systemtime": _beijing_time(now),
            "resultCode": result_code,
        }
        if token is not None:
            answer["msisdn"] = to_national(token.phone_number) or ""
            answer["authType"] = _AUTH_TYPE_CODES[token.auth_type]
        return web.json_response(answer)

    async def check(self, request: web.Request) -> web.Response:
        """Tell whether a ``verify``/``h5`` token's phone is the number hashed into ``phoneNum``."""
        document = await read_json_object(request)
        header = document.get("header") if document is not None else None
        result_code = self._check(header, document.get("body") if document is not None else None)
        echoed = header if isinstance(header, dict) else {}
        msg_id, app_id = echoed.get("msgId"), echoed.get("appId")
        return web.json_response(
            {
                "header": {
                    "msgId": msg_id if isinstance(msg_id, str) else "",
                    "timestamp": _beijing_time(self._clock.now()),
                    "appId": app_id if isinstance(app_id, str) else "",
                    "resultCode": result_code,
                },
                "body": {"resultDesc": _CHECK_DESCRIPTIONS[result_code]},
            }
        )

    def _login(self, fields: Mapping[str, object] | None, now: datetime) -> tuple[str, IssuedToken | None]:
        if fields is None:
            return _LOGIN_SIGN_ERROR, None
        app_id = fields.get("appid")
        if app_id != self._app.app_id:
            return _LOGIN_APPID_UNKNOWN, None
        token = fields.get("token")
        if token is None or token == "":  # an empty field, not a password  # nosec B105
            return _LOGIN_EMPTY, None
        signed = string_fields(fields, _LOGIN_FIELDS)
        if signed is None or not isinstance(token, str):
            return _LOGIN_SIGN_ERROR, None
        version, msgid, systemtime, strictcheck, sign = signed
        if (
            version != "2.0"
            or strictcheck != "0"
            or _MSGID.fullmatch(msgid) is None
            or _SYSTEMTIME.fullmatch(systemtime) is None
        ):
            return _LOGIN_SIGN_ERROR, None
        expected = md5_hex(
            self._app.app_id + version + msgid + systemtime + strictcheck + token + self._app.app_key
        ).upper()
        if not same_text(sign, expected):
            return _LOGIN_SIGN_ERROR, None
        verdict, issued = redeem(
            self._state, token, operator="cmcc", app_id=self._app.app_id, purposes=_LOGIN_PURPOSES, now=now
        )
        if issued is None:
            return _LOGIN_CODES[verdict], None
        return _LOGIN_SUCCESS, issued

    def _check(self, header: object, body: object) -> str:
        header_fields = string_fields(header, _HEADER_FIELDS)
        body_fields = string_fields(body, _BODY_FIELDS)
        if header_fields is None or body_fields is None:
            return "102"
        version, msg_id, timestamp, app_id = header_fields
        open_type, requester_type, key_type, token, phone_digest, sign = body_fields
        if (
            version != "1.0"
            or not msg_id
            or _SYSTEMTIME.fullmatch(timestamp) is None
            or open_type not in ("0", "1", "2", "3")
            or requester_type not in ("0", "1")
            or key_type != "0"
            or not token
            or _PHONE_DIGEST.fullmatch(phone_digest) is None
        ):
            return "102"
        if app_id != self._app.app_id:
            return "103"
        key = self._app.app_key
        expected = hmac_sha256_hex(key, app_id + msg_id + phone_digest + timestamp + token + version).upper()
        if not same_text(sign, expected):
            return "302"
        _, issued = redeem(
            self._state,
            token,
            operator="cmcc",
            app_id=app_id,
            purposes=_CHECK_PURPOSES,
            now=self._clock.now(),
        )
        if issued is None:
            return "606"
        national = to_national(issued.phone_number)
        if issued.phone_number not in self._state.subscribers or national is None:
            return "002"
        return "000" if same_text(phone_digest, sha256_hex(national + key + timestamp).upper()) else "001"


def _query_answer(
    header: object, result_code: str, now: datetime, body: Mapping[str, object] | None = None
) -> web.Response:
    echoed = header if isinstance(header, dict) else {}
    msg_id, app_id = echoed.get("msgId"), echoed.get("appId")
    return web.json_response(
        {
            "header": {
                "msgId": msg_id if isinstance(msg_id, str) else "",
                "timestamp": _beijing_time(now),
                "appId": app_id if isinstance(app_id, str) else "",
                "resultCode": result_code,
            },
            "body": {"resultDesc": _QUERY_DESCRIPTIONS.get(result_code, "system error"), **(body or {})},
        }
    )


def _beijing_time(now: datetime) -> str:
    """``now`` as China Mobile's 17-digit ``yyyyMMddHHmmssSSS`` in Beijing time."""
    local = now.astimezone(_BEIJING)
    return f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}"
