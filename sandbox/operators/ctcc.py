"""China Telecom's southbound dialect: ``getMobile.do`` (one-tap login), ``verifyMobile.do`` (number check),
the line queries (``lineinfo/querySimChange.do``, ``queryDeviceChange.do``, ``queryRealName.do``),
network authorization (``oauth/authorize.do``) and its code exchange (``oauth/getMobileByCode.do``).

Requests are ``application/x-www-form-urlencoded``, with the business parameters AES-128-ECB
encrypted into ``params`` and the envelope signed with HMAC-SHA1. Both answer HTTP 200 with
``{"result", "msg", "reqId", "data"}``; ``data`` is ``{}`` unless the answer carries a result.
Choices the dialect leaves open:

- Another content type, a body that is not UTF-8, a missing, empty or repeated field, a fixed field
  with another value (``clientType`` "30100", ``format`` "json", ``version`` "3.0"), a non-numeric
  ``timeStamp``, ``params`` that are not uppercase hex or do not decrypt to
  ``accessCode=…[&mobile=<11 digits>]`` (values raw, not URL-encoded) answer ``-10001``.
- Checks run in this order: envelope, ``appId``, signature, timestamp window, ``params``, token.
- A check of a number registered with another operator answers ``-20008`` (the token is consumed);
  an unregistered number is simply "no match". ``isVerify`` "2" answers a check whose token is
  valid but whose subscriber has since been removed.
- Line queries need ``params`` ``mobile=<11 digits>`` (else ``-10001``), then check the line
  (``-20008``, ``-30002``). The code exchange needs ``code`` and a ``returnUrl`` (else ``-10001``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Final
from urllib.parse import parse_qsl, unquote

from aiohttp import web

from sandbox.clock import Clock
from sandbox.config import AppCredentials, Operator
from sandbox.crypto import aes_ecb_decrypt, hmac_sha1_hex
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
from sandbox.numbers import NATIONAL_PATTERN, from_national, to_national
from sandbox.operators._wire import new_reference, same_text, within_window
from sandbox.state import AuthMethod, IssuedToken, Purpose, SandboxState, Subscriber
from sandbox.tokens import Verdict, redeem

__all__ = [
    "AUTHORIZE_PATH",
    "ENRICHMENT_HEADER",
    "CtccOperator",
    "Rejected",
    "answer",
    "authorization_dialect",
]

_FORM: Final = "application/x-www-form-urlencoded"
_ENVELOPE_FIELDS: Final = ("appId", "clientType", "format", "version", "timeStamp", "params", "sign")
_FIXED_VALUES: Final[Mapping[str, str]] = {"clientType": "30100", "format": "json", "version": "3.0"}
_CIPHERTEXT: Final = re.compile(r"(?:[0-9A-F]{32})+")
_NATIONAL: Final = re.compile(NATIONAL_PATTERN)
_LOGIN_PURPOSES: Final[frozenset[Purpose]] = frozenset({"login"})
_CHECK_PURPOSES: Final[frozenset[Purpose]] = frozenset({"verify", "h5"})

_MESSAGES: Final[Mapping[int, str]] = {
    0: "success",
    -64: "sign error",
    -10001: "bad parameters",
    -10002: "timestamp outside the window",
    -10003: "appId unknown",
    -20005: "token invalid or expired",
    -20006: "token already used",
    -20007: "token belongs to another app or has another purpose",
    -20008: "not a China Telecom subscriber",
    -20009: "returnUrl mismatch",
    -30001: "no device record for this line",
    -30002: "line not eligible for this service",
    -30003: "no customer record",
}
_TOKEN_RESULTS: Final[Mapping[Verdict, int]] = {
    Verdict.MALFORMED: -20005,
    Verdict.UNKNOWN: -20005,
    Verdict.EXPIRED: -20005,
    Verdict.REPLAYED: -20006,
    Verdict.WRONG_APP: -20007,
    Verdict.WRONG_PURPOSE: -20007,
}


_BEIJING: Final = timezone(timedelta(hours=8))
_LINE_RESULTS: Final[Mapping[LineStatus, int]] = {LineStatus.UNKNOWN: -20008, LineStatus.NOT_ELIGIBLE: -30002}
_RETAIN_DAYS: Final = str(RETENTION_HOURS["ctcc"] // 24)
_REAL_NAME_NAMES: Final[Mapping[str, str]] = {
    "name": "cust_name",
    "givenName": "given_name",
    "familyName": "family_name",
    "middleNames": "middle_names",
    "familyNameAtBirth": "birth_family_name",
    "idDocument": "cert_num",
    "idDocumentType": "cert_type",
    "idDocumentExpiryDate": "cert_expiry",
    "address": "address",
    "streetName": "street_name",
    "streetNumber": "street_number",
    "houseNumberExtension": "house_number_ext",
    "postalCode": "zip_code",
    "region": "province",
    "locality": "city",
    "country": "country",
    "birthdate": "birth_date",
    "email": "email",
    "gender": "gender",
    "cityOfBirth": "birth_city",
    "countryOfBirth": "birth_country",
    "nationality": "nationality",
}
_GENDER_CODES: Final[Mapping[str, str]] = {"MALE": "M", "FEMALE": "F", "OTHER": "O"}
_CODE_RESULTS: Final[Mapping[CodeVerdict, int]] = {
    CodeVerdict.MALFORMED: -20005,
    CodeVerdict.UNKNOWN: -20005,
    CodeVerdict.EXPIRED: -20005,
    CodeVerdict.WRONG_APP: -20007,
    CodeVerdict.REPLAYED: -20006,
    CodeVerdict.WRONG_REDIRECT: -20009,
}
_AUTH_MODES: Final[Mapping[AuthMethod, str]] = {"network": "1", "sms_otp": "2"}

AUTHORIZE_PATH: Final = "/ctcc/openapi/oauth/authorize.do"
ENRICHMENT_HEADER: Final = "x-ctc-msisdn"


def authorization_dialect(decode_hint: Callable[[str], str | None]) -> AuthorizationDialect:
    """China Telecom's wording of the common authorization flow; hints decrypt with the app's key."""
    return AuthorizationDialect(
        operator="ctcc",
        brand="中国电信",
        authorize_path=AUTHORIZE_PATH,
        number_path="/ctcc/openapi/oauth/sendSms.do",
        code_path="/ctcc/openapi/oauth/checkSms.do",
        app_id_param="appId",
        redirect_param="returnUrl",
        hint_param="loginHint",
        enrichment_header=ENRICHMENT_HEADER,
        number_field="phone",
        code_field="smsCode",
        sms_sender="10001",
        sms_text="【中国电信】您的验证码为：{otp}，5分钟内有效，请勿告诉他人。",  # noqa: RUF001
        code_shape=re.compile(r"CTAC[0-9a-f]{40}"),
        new_code=lambda: "CTAC" + secrets.token_hex(20),
        code_lifetime=timedelta(seconds=30),
        decode_hint=decode_hint,
    )


class Rejected(Exception):
    """A request answered with a non-zero ``result``."""

    def __init__(self, result: int) -> None:
        super().__init__(result)
        self.result = result


class CtccOperator:
    """China Telecom serving one registered application."""

    def __init__(self, *, state: SandboxState, app: AppCredentials, clock: Clock) -> None:
        self._state = state
        self._app = app
        self._clock = clock
        self._aes_key = app.app_key.encode()[:16]
        self._authorization = NetworkAuthorization(
            authorization_dialect(self._decode_hint), state=state, app=app, clock=clock
        )

    def routes(self) -> list[web.RouteDef]:
        """The operator's southbound routes."""
        return [
            web.post("/ctcc/openapi/networkauth/getMobile.do", self.login),
            web.post("/ctcc/openapi/networkauth/verifyMobile.do", self.check),
            web.post("/ctcc/openapi/lineinfo/querySimChange.do", self.sim_change),
            web.post("/ctcc/openapi/lineinfo/queryDeviceChange.do", self.device_change),
            web.post("/ctcc/openapi/lineinfo/queryRealName.do", self.real_name),
            web.post("/ctcc/openapi/oauth/getMobileByCode.do", self.exchange_code),
            *self._authorization.routes(),
        ]

    async def sim_change(self, request: web.Request) -> web.Response:
        """The line's latest SIM change (or activation) within the 60-day window."""
        return await self._history(request, sim_history)

    async def device_change(self, request: web.Request) -> web.Response:
        """The line's latest device change (or first device) within the 60-day window."""
        return await self._history(request, device_history)

    async def real_name(self, request: web.Request) -> web.Response:
        """The line's verified customer record, under China Telecom's names."""
        try:
            subscriber = await self._line(request)
        except Rejected as rejected:
            return answer(rejected.result)
        if not subscriber.kyc:
            return answer(-30003)
        return answer(0, rename(subscriber.kyc, _REAL_NAME_NAMES, dates=True, genders=_GENDER_CODES))

    async def exchange_code(self, request: web.Request) -> web.Response:
        """Exchange an authorization code for the plain national number and the ``authMode``."""
        try:
            params = await self.open_request(request)
            value, return_url = params.get("code", ""), unquote(params.get("returnUrl", ""))
            if not value or not return_url:
                raise Rejected(-10001)
            verdict, code = self._authorization.redeem(
                value, app_id=self._app.app_id, redirect_uri=return_url, now=self._clock.now()
            )
            if code is None:
                raise Rejected(_CODE_RESULTS[verdict])
        except Rejected as rejected:
            return answer(rejected.result)
        return answer(
            0, {"mobile": to_national(code.phone_number) or "", "authMode": _AUTH_MODES[code.method]}
        )

    async def _history(
        self, request: web.Request, history: Callable[[Subscriber, Operator, datetime], History]
    ) -> web.Response:
        try:
            subscriber = await self._line(request)
        except Rejected as rejected:
            return answer(rejected.result)
        found = history(subscriber, "ctcc", self._clock.now())
        if found.disclosure is Disclosure.NO_RECORD:
            return answer(-30001)
        data = {"changeTime": "", "changeType": "", "retainDays": _RETAIN_DAYS}
        if found.at is not None:
            data |= {
                "changeTime": found.at.astimezone(_BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                "changeType": "1" if found.is_change else "0",
            }
        return answer(0, data)

    async def _line(self, request: web.Request) -> Subscriber:
        """The served line a signed query names."""
        national = (await self.open_request(request)).get("mobile", "")
        if _NATIONAL.fullmatch(national) is None:
            raise Rejected(-10001)
        status, subscriber = find_line(self._state, national, "ctcc")
        if subscriber is None:
            raise Rejected(_LINE_RESULTS[status])
        return subscriber

    def _decode_hint(self, value: str) -> str | None:
        if _CIPHERTEXT.fullmatch(value) is None:
            return None
        try:
            return aes_ecb_decrypt(bytes.fromhex(value), key=self._aes_key).decode()
        except ValueError:
            return None

    async def login(self, request: web.Request) -> web.Response:
        """Exchange a ``login`` token for the plain national number and its ``authType``."""
        try:
            params = await self.open_request(request)
            token = self._redeem(params.get("accessCode", ""), _LOGIN_PURPOSES)
        except Rejected as rejected:
            return answer(rejected.result)
        return answer(0, {"mobile": to_national(token.phone_number) or "", "authType": token.auth_type})

    async def check(self, request: web.Request) -> web.Response:
        """Tell whether a ``verify``/``h5`` token's phone is ``mobile``."""
        try:
            params = await self.open_request(request)
            national = params.get("mobile", "")
            if _NATIONAL.fullmatch(national) is None:
                raise Rejected(-10001)
            submitted = from_national(national)
            token = self._redeem(params.get("accessCode", ""), _CHECK_PURPOSES)
            registered = self._state.subscribers.get(submitted)
            if registered is not None and registered.operator != "ctcc":
                raise Rejected(-20008)
        except Rejected as rejected:
            return answer(rejected.result)
        if token.phone_number not in self._state.subscribers:
            return answer(0, {"isVerify": "2"})
        return answer(0, {"isVerify": "1" if token.phone_number == submitted else "0"})

    async def open_request(self, request: web.Request) -> dict[str, str]:
        """Authenticate the envelope and return the decrypted ``params``; :class:`Rejected` otherwise."""
        fields = await _read_form(request)
        now = self._clock.now()
        if (
            not all(fields.get(name) for name in _ENVELOPE_FIELDS)
            or any(fields[name] != value for name, value in _FIXED_VALUES.items())
            or within_window(fields["timeStamp"], now) is None
        ):
            raise Rejected(-10001)
        if fields["appId"] != self._app.app_id:
            raise Rejected(-10003)
        signed = "".join(
            fields[name] for name in ("appId", "clientType", "format", "params", "timeStamp", "version")
        )
        if not same_text(fields["sign"], hmac_sha1_hex(self._app.app_key, signed).upper()):
            raise Rejected(-64)
        if not within_window(fields["timeStamp"], now):
            raise Rejected(-10002)
        return self._decrypt_params(fields["params"])

    def _decrypt_params(self, ciphertext: str) -> dict[str, str]:
        if _CIPHERTEXT.fullmatch(ciphertext) is None:
            raise Rejected(-10001)
        try:
            plaintext = aes_ecb_decrypt(bytes.fromhex(ciphertext), key=self._aes_key).decode()
        except ValueError:
            raise Rejected(-10001) from None
        params: dict[str, str] = {}
        for pair in plaintext.split("&"):
            name, separator, value = pair.partition("=")
            if not separator or not name or name in params:
                raise Rejected(-10001)
            params[name] = value
        return params

    def _redeem(self, value: str, purposes: frozenset[Purpose]) -> IssuedToken:
        if not value:
            raise Rejected(-10001)
        verdict, token = redeem(
            self._state,
            value,
            operator="ctcc",
            app_id=self._app.app_id,
            purposes=purposes,
            now=self._clock.now(),
        )
        if token is None:
            raise Rejected(_TOKEN_RESULTS[verdict])
        return token


async def _read_form(request: web.Request) -> dict[str, str]:
    """The form fields; another content type, bad encoding or a repeated field is ``-10001``."""
    if request.content_type != _FORM:
        raise Rejected(-10001)
    try:
        pairs = parse_qsl((await request.read()).decode(), keep_blank_values=True, errors="strict")
    except ValueError:
        raise Rejected(-10001) from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise Rejected(-10001)
        fields[name] = value
    return fields


def answer(result: int, data: Mapping[str, str] | None = None) -> web.Response:
    """The dialect's answer envelope ``{"result", "msg", "reqId", "data"}``, HTTP 200."""
    return web.json_response(
        {
            "result": result,
            "msg": _MESSAGES.get(result, "system error"),
            "reqId": new_reference(),
            "data": data or {},
        }
    )
