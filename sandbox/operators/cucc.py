"""China Unicom's southbound dialect: ``netauth/v2/mobile`` (one-tap login), ``netauth/v2/verify`` (check),
the line queries (``lineinfo/v1/simchange``, ``devicechange``, ``realname``), network authorization
(``netauth/v2/authorize``) and its code exchange (``netauth/v2/code``).

Requests are JSON objects of strings signed with a sorted-parameter HMAC-SHA256; numbers travel
AES-128-CBC encrypted. Both answer HTTP 200 with ``{"code", "msg", "seqId", "data"}``; ``data`` is
``{}`` unless the answer carries a result. Choices the dialect leaves open:

- A body that is not a JSON object of strings, a missing or empty required field, a ``nonce`` that
  is not 16-32 hex characters, a non-numeric ``timestamp`` or an undecryptable ``mobile`` answers
  ``1004``. Fields beyond the documented ones are allowed and signed like the rest.
- Checks run in this order: parameters, ``appId``, signature, timestamp window, token.
- A check of a number registered with another operator answers ``3001`` (the token is consumed);
  an unregistered number is simply "no match". Result ``2`` answers a check whose token is valid
  but whose subscriber has since been removed.
- Line queries and the code exchange check like the token endpoints (parameters, ``appId``,
  signature, timestamp window), then the line (``3001``, ``3002``) or the code.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Final

from aiohttp import web

from sandbox.clock import Clock
from sandbox.config import AppCredentials, Operator
from sandbox.crypto import aes_cbc_decrypt, aes_cbc_encrypt, hmac_sha256_hex, md5_hex
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
from sandbox.operators._wire import epoch_ms, new_reference, read_json_object, same_text, within_window
from sandbox.state import IssuedToken, Purpose, SandboxState, Subscriber
from sandbox.tokens import Verdict, redeem

__all__ = [
    "AUTHORIZE_PATH",
    "ENRICHMENT_HEADER",
    "CuccOperator",
    "Rejected",
    "answer",
    "authorization_dialect",
]

_LOGIN_FIELDS: Final = ("appId", "timestamp", "nonce", "token", "sign")
_CHECK_FIELDS: Final = (*_LOGIN_FIELDS, "mobile")
_NONCE: Final = re.compile(r"[0-9a-fA-F]{16,32}")
_CIPHERTEXT: Final = re.compile(r"(?:[0-9a-f]{32})+")
_NATIONAL: Final = re.compile(NATIONAL_PATTERN)
_LOGIN_PURPOSES: Final[frozenset[Purpose]] = frozenset({"login"})
_CHECK_PURPOSES: Final[frozenset[Purpose]] = frozenset({"verify", "h5"})

_MESSAGES: Final[Mapping[str, str]] = {
    "0000": "success",
    "1001": "sign error",
    "1002": "timestamp outside the window",
    "1003": "appId unknown",
    "1004": "bad parameters",
    "2001": "token invalid or expired",
    "2002": "token already used",
    "2003": "token belongs to another app",
    "2004": "token purpose mismatch",
    "3001": "not a China Unicom subscriber",
    "3002": "line not eligible for this service",
    "3003": "no customer record",
    "2005": "redirectUri mismatch",
}
_TOKEN_CODES: Final[Mapping[Verdict, str]] = {
    Verdict.MALFORMED: "2001",
    Verdict.UNKNOWN: "2001",
    Verdict.EXPIRED: "2001",
    Verdict.REPLAYED: "2002",
    Verdict.WRONG_APP: "2003",
    Verdict.WRONG_PURPOSE: "2004",
}


_QUERY_FIELDS: Final = ("appId", "timestamp", "nonce", "mobile", "sign")
_CODE_FIELDS: Final = ("appId", "timestamp", "nonce", "code", "redirectUri", "sign")
_LINE_CODES: Final[Mapping[LineStatus, str]] = {LineStatus.UNKNOWN: "3001", LineStatus.NOT_ELIGIBLE: "3002"}
_HISTORY_STATUS: Final[Mapping[Disclosure, str]] = {
    Disclosure.DISCLOSED: "1",
    Disclosure.OUTSIDE_WINDOW: "2",
    Disclosure.NO_RECORD: "3",
}
_WINDOW: Final = str(RETENTION_HOURS["cucc"])
_RECORD_NAMES: Final[Mapping[str, str]] = {
    name: name
    for name in (
        "name",
        "givenName",
        "familyName",
        "middleNames",
        "familyNameAtBirth",
        "idDocument",
        "idDocumentType",
        "idDocumentExpiryDate",
        "address",
        "streetName",
        "streetNumber",
        "houseNumberExtension",
        "postalCode",
        "region",
        "locality",
        "country",
        "birthdate",
        "email",
        "gender",
        "cityOfBirth",
        "countryOfBirth",
        "nationality",
    )
}
_CODE_RESULTS: Final[Mapping[CodeVerdict, str]] = {
    CodeVerdict.MALFORMED: "2001",
    CodeVerdict.UNKNOWN: "2001",
    CodeVerdict.EXPIRED: "2001",
    CodeVerdict.WRONG_APP: "2003",
    CodeVerdict.REPLAYED: "2002",
    CodeVerdict.WRONG_REDIRECT: "2005",
}

AUTHORIZE_PATH: Final = "/cucc/openapi/netauth/v2/authorize"
ENRICHMENT_HEADER: Final = "x-msisdn"


def authorization_dialect(decode_hint: Callable[[str], str | None]) -> AuthorizationDialect:
    """China Unicom's wording of the common authorization flow; hints decrypt with the app's key."""
    return AuthorizationDialect(
        operator="cucc",
        brand="中国联通",
        authorize_path=AUTHORIZE_PATH,
        number_path="/cucc/openapi/netauth/v2/authorize/sms",
        code_path="/cucc/openapi/netauth/v2/authorize/code",
        app_id_param="appId",
        redirect_param="redirectUri",
        hint_param="mobileHint",
        enrichment_header=ENRICHMENT_HEADER,
        number_field="mobile",
        code_field="verifyCode",
        sms_sender="10010",
        sms_text="【中国联通】验证码{otp}，用于网络身份认证登录，5分钟内有效，请勿泄露。",  # noqa: RUF001
        code_shape=re.compile(r"CUAC[A-Za-z0-9_-]{40}"),
        new_code=lambda: "CUAC" + secrets.token_urlsafe(30),
        code_lifetime=timedelta(seconds=60),
        decode_hint=decode_hint,
    )


class Rejected(Exception):
    """A request answered with a non-success ``code``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class CuccOperator:
    """China Unicom serving one registered application."""

    def __init__(self, *, state: SandboxState, app: AppCredentials, clock: Clock) -> None:
        self._state = state
        self._app = app
        self._clock = clock
        digest = md5_hex(app.app_key)
        self._aes_key = digest[:16].encode()
        self._aes_iv = digest[16:].encode()
        self._authorization = NetworkAuthorization(
            authorization_dialect(self._decode_hint), state=state, app=app, clock=clock
        )

    def routes(self) -> list[web.RouteDef]:
        """The operator's southbound routes."""
        return [
            web.post("/cucc/openapi/netauth/v2/mobile", self.login),
            web.post("/cucc/openapi/netauth/v2/verify", self.check),
            web.post("/cucc/openapi/lineinfo/v1/simchange", self.sim_change),
            web.post("/cucc/openapi/lineinfo/v1/devicechange", self.device_change),
            web.post("/cucc/openapi/lineinfo/v1/realname", self.real_name),
            web.post("/cucc/openapi/netauth/v2/code", self.exchange_code),
            *self._authorization.routes(),
        ]

    async def sim_change(self, request: web.Request) -> web.Response:
        """The line's latest SIM change (or activation) within the 720 h window."""
        return await self._history(request, sim_history)

    async def device_change(self, request: web.Request) -> web.Response:
        """The line's latest device change (or first device) within the 720 h window."""
        return await self._history(request, device_history)

    async def real_name(self, request: web.Request) -> web.Response:
        """The line's verified customer record, as encrypted JSON under the KYC Match names."""
        try:
            subscriber = await self._line(request)
        except Rejected as rejected:
            return answer(rejected.code)
        if not subscriber.kyc:
            return answer("3003")
        record = json.dumps(rename(subscriber.kyc, _RECORD_NAMES), ensure_ascii=False).encode()
        return answer("0000", {"record": self.encrypt(record)})

    async def exchange_code(self, request: web.Request) -> web.Response:
        """Exchange an authorization code for the encrypted national number and the method."""
        try:
            fields = self.authenticate(await read_json_object(request), _CODE_FIELDS)
            verdict, code = self._authorization.redeem(
                fields["code"],
                app_id=fields["appId"],
                redirect_uri=fields["redirectUri"],
                now=self._clock.now(),
            )
            if code is None:
                raise Rejected(_CODE_RESULTS[verdict])
        except Rejected as rejected:
            return answer(rejected.code)
        national = to_national(code.phone_number) or ""
        return answer("0000", {"mobile": self.encrypt(national.encode()), "authMethod": code.method})

    async def _history(
        self, request: web.Request, history: Callable[[Subscriber, Operator, datetime], History]
    ) -> web.Response:
        try:
            subscriber = await self._line(request)
        except Rejected as rejected:
            return answer(rejected.code)
        found = history(subscriber, "cucc", self._clock.now())
        data = {"status": _HISTORY_STATUS[found.disclosure], "windowHours": _WINDOW}
        if found.at is not None:
            data |= {
                "changeTime": str(epoch_ms(found.at)),
                "changeType": "swap" if found.is_change else "activation",
            }
        return answer("0000", data)

    async def _line(self, request: web.Request) -> Subscriber:
        """The served line a signed query names."""
        fields = self.authenticate(await read_json_object(request), _QUERY_FIELDS)
        status, subscriber = find_line(self._state, self.decrypt_mobile(fields["mobile"]), "cucc")
        if subscriber is None:
            raise Rejected(_LINE_CODES[status])
        return subscriber

    def encrypt(self, plaintext: bytes) -> str:
        """Lowercase hex AES-128-CBC of ``plaintext`` under the app's number key."""
        return aes_cbc_encrypt(plaintext, key=self._aes_key, iv=self._aes_iv).hex()

    def _decode_hint(self, value: str) -> str | None:
        try:
            return self.decrypt_mobile(value)
        except Rejected:
            return None

    async def login(self, request: web.Request) -> web.Response:
        """Exchange a ``login`` token for the encrypted national number and its ``authType``."""
        try:
            fields = self.authenticate(await read_json_object(request), _LOGIN_FIELDS)
            token = self._redeem(fields["token"], _LOGIN_PURPOSES)
        except Rejected as rejected:
            return answer(rejected.code)
        national = to_national(token.phone_number) or ""
        return answer("0000", {"mobile": self.encrypt(national.encode()), "authType": token.auth_type})

    async def check(self, request: web.Request) -> web.Response:
        """Tell whether a ``verify``/``h5`` token's phone is the encrypted ``mobile``."""
        try:
            fields = self.authenticate(await read_json_object(request), _CHECK_FIELDS)
            submitted = from_national(self.decrypt_mobile(fields["mobile"]))
            token = self._redeem(fields["token"], _CHECK_PURPOSES)
            registered = self._state.subscribers.get(submitted)
            if registered is not None and registered.operator != "cucc":
                raise Rejected("3001")
        except Rejected as rejected:
            return answer(rejected.code)
        if token.phone_number not in self._state.subscribers:
            return answer("0000", {"result": "2"})
        return answer("0000", {"result": "1" if token.phone_number == submitted else "0"})

    def authenticate(
        self, document: Mapping[str, object] | None, required: tuple[str, ...]
    ) -> dict[str, str]:
        """The fields of a signed request (all strings), or :class:`Rejected` with the failure code.

        Checks, in order: parameters (``1004``), ``appId`` (``1003``), signature (``1001``), window
        (``1002``).
        """
        if document is None or not all(isinstance(value, str) for value in document.values()):
            raise Rejected("1004")
        fields: dict[str, str] = {name: value for name, value in document.items() if isinstance(value, str)}
        if (
            not all(fields.get(name) for name in required)
            or _NONCE.fullmatch(fields["nonce"]) is None
            or within_window(fields["timestamp"], self._clock.now()) is None
        ):
            raise Rejected("1004")
        if fields["appId"] != self._app.app_id:
            raise Rejected("1003")
        message = "&".join(
            f"{name}={fields[name]}" for name in sorted(fields) if name != "sign" and fields[name]
        )
        if not same_text(fields["sign"], hmac_sha256_hex(self._app.app_key, message)):
            raise Rejected("1001")
        if not within_window(fields["timestamp"], self._clock.now()):
            raise Rejected("1002")
        return fields

    def decrypt_mobile(self, ciphertext: str) -> str:
        """The national number in an encrypted ``mobile``; :class:`Rejected` ``1004`` if there is none."""
        if _CIPHERTEXT.fullmatch(ciphertext) is None:
            raise Rejected("1004")
        try:
            national = aes_cbc_decrypt(bytes.fromhex(ciphertext), key=self._aes_key, iv=self._aes_iv).decode()
        except ValueError:
            raise Rejected("1004") from None
        if _NATIONAL.fullmatch(national) is None:
            raise Rejected("1004")
        return national

    def _redeem(self, value: str, purposes: frozenset[Purpose]) -> IssuedToken:
        verdict, token = redeem(
            self._state,
            value,
            operator="cucc",
            app_id=self._app.app_id,
            purposes=purposes,
            now=self._clock.now(),
        )
        if token is None:
            raise Rejected(_TOKEN_CODES[verdict])
        return token


def answer(code: str, data: Mapping[str, str] | None = None) -> web.Response:
    """The dialect's answer envelope ``{"code", "msg", "seqId", "data"}``, HTTP 200."""
    return web.json_response(
        {
            "code": code,
            "msg": _MESSAGES.get(code, "system error"),
            "seqId": new_reference(),
            "data": data or {},
        }
    )
