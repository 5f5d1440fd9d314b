"""China Telecom's southbound dialect: ``getMobile.do`` (one-tap login), ``verifyMobile.do`` (number check).

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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qsl

from aiohttp import web

from sandbox.clock import Clock
from sandbox.config import AppCredentials
from sandbox.crypto import aes_ecb_decrypt, hmac_sha1_hex
from sandbox.numbers import NATIONAL_PATTERN, from_national, to_national
from sandbox.operators._wire import new_reference, same_text, within_window
from sandbox.state import IssuedToken, Purpose, SandboxState
from sandbox.tokens import Verdict, redeem

__all__ = ["CtccOperator"]

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
}
_TOKEN_RESULTS: Final[Mapping[Verdict, int]] = {
    Verdict.MALFORMED: -20005,
    Verdict.UNKNOWN: -20005,
    Verdict.EXPIRED: -20005,
    Verdict.REPLAYED: -20006,
    Verdict.WRONG_APP: -20007,
    Verdict.WRONG_PURPOSE: -20007,
}


class _Rejected(Exception):
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

    def routes(self) -> list[web.RouteDef]:
        """The operator's southbound routes."""
        return [
            web.post("/ctcc/openapi/networkauth/getMobile.do", self.login),
            web.post("/ctcc/openapi/networkauth/verifyMobile.do", self.check),
        ]

    async def login(self, request: web.Request) -> web.Response:
        """Exchange a ``login`` token for the plain national number and its ``authType``."""
        try:
            params = await self._open(request)
            token = self._redeem(params.get("accessCode", ""), _LOGIN_PURPOSES)
        except _Rejected as rejected:
            return _answer(rejected.result)
        return _answer(0, {"mobile": to_national(token.phone_number) or "", "authType": token.auth_type})

    async def check(self, request: web.Request) -> web.Response:
        """Tell whether a ``verify``/``h5`` token's phone is ``mobile``."""
        try:
            params = await self._open(request)
            national = params.get("mobile", "")
            if _NATIONAL.fullmatch(national) is None:
                raise _Rejected(-10001)
            submitted = from_national(national)
            token = self._redeem(params.get("accessCode", ""), _CHECK_PURPOSES)
            registered = self._state.subscribers.get(submitted)
            if registered is not None and registered.operator != "ctcc":
                raise _Rejected(-20008)
        except _Rejected as rejected:
            return _answer(rejected.result)
        if token.phone_number not in self._state.subscribers:
            return _answer(0, {"isVerify": "2"})
        return _answer(0, {"isVerify": "1" if token.phone_number == submitted else "0"})

    async def _open(self, request: web.Request) -> dict[str, str]:
        """Authenticate the envelope and return the decrypted ``params``."""
        fields = await _read_form(request)
        now = self._clock.now()
        if (
            not all(fields.get(name) for name in _ENVELOPE_FIELDS)
            or any(fields[name] != value for name, value in _FIXED_VALUES.items())
            or within_window(fields["timeStamp"], now) is None
        ):
            raise _Rejected(-10001)
        if fields["appId"] != self._app.app_id:
            raise _Rejected(-10003)
        signed = "".join(
            fields[name] for name in ("appId", "clientType", "format", "params", "timeStamp", "version")
        )
        if not same_text(fields["sign"], hmac_sha1_hex(self._app.app_key, signed).upper()):
            raise _Rejected(-64)
        if not within_window(fields["timeStamp"], now):
            raise _Rejected(-10002)
        return self._decrypt_params(fields["params"])

    def _decrypt_params(self, ciphertext: str) -> dict[str, str]:
        if _CIPHERTEXT.fullmatch(ciphertext) is None:
            raise _Rejected(-10001)
        try:
            plaintext = aes_ecb_decrypt(bytes.fromhex(ciphertext), key=self._aes_key).decode()
        except ValueError:
            raise _Rejected(-10001) from None
        params: dict[str, str] = {}
        for pair in plaintext.split("&"):
            name, separator, value = pair.partition("=")
            if not separator or not name or name in params:
                raise _Rejected(-10001)
            params[name] = value
        return params

    def _redeem(self, value: str, purposes: frozenset[Purpose]) -> IssuedToken:
        if not value:
            raise _Rejected(-10001)
        verdict, token = redeem(
            self._state,
            value,
            operator="ctcc",
            app_id=self._app.app_id,
            purposes=purposes,
            now=self._clock.now(),
        )
        if token is None:
            raise _Rejected(_TOKEN_RESULTS[verdict])
        return token


async def _read_form(request: web.Request) -> dict[str, str]:
    """The form fields; another content type, bad encoding or a repeated field is ``-10001``."""
    if request.content_type != _FORM:
        raise _Rejected(-10001)
    try:
        pairs = parse_qsl((await request.read()).decode(), keep_blank_values=True, errors="strict")
    except ValueError:
        raise _Rejected(-10001) from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise _Rejected(-10001)
        fields[name] = value
    return fields


def _answer(result: int, data: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(
        {
            "result": result,
            "msg": _MESSAGES.get(result, "system error"),
            "reqId": new_reference(),
            "data": data or {},
        }
    )
