"""China Mobile's southbound dialect: ``loginTokenValidate`` (one-tap login) and ``tokenValidate`` (check).

Both answer HTTP 200 with the dialect's envelope whatever the result. Choices the dialect leaves open:

- Login has no bad-parameters code. A body that is not a JSON object carrying every signed field as
  a string with its documented value (``version`` "2.0", ``strictcheck`` "0", ``msgid`` of 1-36
  characters, 17-digit ``systemtime``) answers ``103101``: the operator cannot authenticate it. A
  missing or unregistered ``appid`` answers ``103119``; a missing or empty ``token`` ``103811``.
- The check answers ``102`` to any request that is not the documented envelope of strings
  (``version`` "1.0", ``keyType`` "0", ``requesterType`` "0"/"1", ``openType`` "0"-"3", 17-digit
  ``timestamp``, ``phoneNum`` as 64 uppercase hex characters, a non-empty ``token``).
- No timestamp window is documented for China Mobile, so only the timestamps' shape is checked.
- ``002`` (unknown) answers a check whose token is valid but whose subscriber has since been removed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Final

from aiohttp import web

from sandbox.clock import Clock
from sandbox.config import AppCredentials
from sandbox.crypto import hmac_sha256_hex, md5_hex, sha256_hex
from sandbox.numbers import to_national
from sandbox.operators._wire import read_json_object, same_text, string_fields
from sandbox.state import AuthType, IssuedToken, Purpose, SandboxState
from sandbox.tokens import Verdict, redeem

__all__ = ["CmccOperator"]

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


class CmccOperator:
    """China Mobile serving one registered application."""

    def __init__(self, *, state: SandboxState, app: AppCredentials, clock: Clock) -> None:
        self._state = state
        self._app = app
        self._clock = clock

    def routes(self) -> list[web.RouteDef]:
        """The operator's southbound routes."""
        return [
            web.post("/cmcc/unisdk/rsapi/loginTokenValidate", self.login),
            web.post("/cmcc/openapi/rs/tokenValidate", self.check),
        ]

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
        if token is None or token == "":
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


def _beijing_time(now: datetime) -> str:
    """``now`` as China Mobile's 17-digit ``yyyyMMddHHmmssSSS`` in Beijing time."""
    local = now.astimezone(_BEIJING)
    return f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}"
