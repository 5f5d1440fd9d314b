"""China Unicom's southbound dialect: ``netauth/v2/mobile`` (one-tap login), ``netauth/v2/verify`` (check).

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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from aiohttp import web

from sandbox.clock import Clock
from sandbox.config import AppCredentials
from sandbox.crypto import aes_cbc_decrypt, aes_cbc_encrypt, hmac_sha256_hex, md5_hex
from sandbox.numbers import NATIONAL_PATTERN, from_national, to_national
from sandbox.operators._wire import new_reference, read_json_object, same_text, within_window
from sandbox.state import IssuedToken, Purpose, SandboxState
from sandbox.tokens import Verdict, redeem

__all__ = ["CuccOperator"]

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
}
_TOKEN_CODES: Final[Mapping[Verdict, str]] = {
    Verdict.MALFORMED: "2001",
    Verdict.UNKNOWN: "2001",
    Verdict.EXPIRED: "2001",
    Verdict.REPLAYED: "2002",
    Verdict.WRONG_APP: "2003",
    Verdict.WRONG_PURPOSE: "2004",
}


class _Rejected(Exception):
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

    def routes(self) -> list[web.RouteDef]:
        """The operator's southbound routes."""
        return [
            web.post("/cucc/openapi/netauth/v2/mobile", self.login),
            web.post("/cucc/openapi/netauth/v2/verify", self.check),
        ]

    async def login(self, request: web.Request) -> web.Response:
        """Exchange a ``login`` token for the encrypted national number and its ``authType``."""
        try:
            fields = self._authenticate(await read_json_object(request), _LOGIN_FIELDS)
            token = self._redeem(fields["token"], _LOGIN_PURPOSES)
        except _Rejected as rejected:
            return _answer(rejected.code)
        national = to_national(token.phone_number) or ""
        encrypted = aes_cbc_encrypt(national.encode(), key=self._aes_key, iv=self._aes_iv).hex()
        return _answer("0000", {"mobile": encrypted, "authType": token.auth_type})

    async def check(self, request: web.Request) -> web.Response:
        """Tell whether a ``verify``/``h5`` token's phone is the encrypted ``mobile``."""
        try:
            fields = self._authenticate(await read_json_object(request), _CHECK_FIELDS)
            submitted = from_national(self._decrypt_mobile(fields["mobile"]))
            token = self._redeem(fields["token"], _CHECK_PURPOSES)
            registered = self._state.subscribers.get(submitted)
            if registered is not None and registered.operator != "cucc":
                raise _Rejected("3001")
        except _Rejected as rejected:
            return _answer(rejected.code)
        if token.phone_number not in self._state.subscribers:
            return _answer("0000", {"result": "2"})
        return _answer("0000", {"result": "1" if token.phone_number == submitted else "0"})

    def _authenticate(
        self, document: Mapping[str, object] | None, required: tuple[str, ...]
    ) -> dict[str, str]:
        if document is None or not all(isinstance(value, str) for value in document.values()):
            raise _Rejected("1004")
        fields: dict[str, str] = {name: value for name, value in document.items() if isinstance(value, str)}
        if (
            not all(fields.get(name) for name in required)
            or _NONCE.fullmatch(fields["nonce"]) is None
            or within_window(fields["timestamp"], self._clock.now()) is None
        ):
            raise _Rejected("1004")
        if fields["appId"] != self._app.app_id:
            raise _Rejected("1003")
        message = "&".join(
            f"{name}={fields[name]}" for name in sorted(fields) if name != "sign" and fields[name]
        )
        if not same_text(fields["sign"], hmac_sha256_hex(self._app.app_key, message)):
            raise _Rejected("1001")
        if not within_window(fields["timestamp"], self._clock.now()):
            raise _Rejected("1002")
        return fields

    def _decrypt_mobile(self, ciphertext: str) -> str:
        if _CIPHERTEXT.fullmatch(ciphertext) is None:
            raise _Rejected("1004")
        try:
            national = aes_cbc_decrypt(bytes.fromhex(ciphertext), key=self._aes_key, iv=self._aes_iv).decode()
        except ValueError:
            raise _Rejected("1004") from None
        if _NATIONAL.fullmatch(national) is None:
            raise _Rejected("1004")
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
            raise _Rejected(_TOKEN_CODES[verdict])
        return token


def _answer(code: str, data: Mapping[str, str] | None = None) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "msg": _MESSAGES.get(code, "system error"),
            "seqId": new_reference(),
            "data": data or {},
        }
    )
