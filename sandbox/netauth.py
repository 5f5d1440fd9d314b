"""Network-based authorization at an operator: header enrichment, SMS-OTP fallback, single-use codes.

``docs/operator-dialects.md``, "Common network-authorization rules". The flow is the same at every
operator; an :class:`AuthorizationDialect` holds what differs (paths, parameter and field names,
the enrichment header, the SMS, the code shape and lifetime). The signed code exchange is each
operator's own endpoint, which calls :meth:`NetworkAuthorization.redeem`.
"""

from __future__ import annotations

import enum
import hmac
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from sandbox.clock import Clock
from sandbox.config import AppCredentials, Operator
from sandbox.numbers import NATIONAL_PATTERN, from_national
from sandbox.pages import code_form, error_page, number_form
from sandbox.state import AuthCode, AuthMethod, OtpSession, SandboxState

__all__ = ["AuthorizationDialect", "CodeVerdict", "NetworkAuthorization"]

SESSION_LIFETIME: Final = timedelta(minutes=10)
OTP_LIFETIME: Final = timedelta(minutes=5)
OTP_ATTEMPTS: Final = 5
_MAX_REDIRECT_URI: Final = 2048
_MAX_STATE: Final = 512
_NATIONAL: Final = re.compile(NATIONAL_PATTERN)
_TYPED_NUMBER: Final = re.compile(r"(?:\+?86)?(1[0-9]{10})")


@dataclass(frozen=True, slots=True)
class AuthorizationDialect:
    """How one operator words the common flow; ``sms_text`` holds ``{otp}``."""

    operator: Operator
    brand: str
    authorize_path: str
    number_path: str
    code_path: str
    app_id_param: str
    redirect_param: str
    hint_param: str
    enrichment_header: str
    number_field: str
    code_field: str
    sms_sender: str
    sms_text: str
    code_shape: re.Pattern[str]
    new_code: Callable[[], str]
    code_lifetime: timedelta
    decode_hint: Callable[[str], str | None]
    """The national number a login hint carries, or None if it carries none."""


class CodeVerdict(enum.Enum):
    """What an operator concludes about a presented authorization code."""

    ACCEPTED = "accepted"
    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    WRONG_APP = "wrong_app"
    REPLAYED = "replayed"
    WRONG_REDIRECT = "wrong_redirect"


def _valid_redirect_uri(value: str | None) -> bool:
    if not value or len(value) > _MAX_REDIRECT_URI or "#" in value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _redirect(redirect_uri: str, params: dict[str, str]) -> web.Response:
    separator = "&" if "?" in redirect_uri else "?"
    return web.Response(status=302, headers={"Location": redirect_uri + separator + urlencode(params)})


class NetworkAuthorization:
    """One operator's authorization endpoint, its SMS-OTP forms, and its code ledger rules."""

    def __init__(
        self, dialect: AuthorizationDialect, *, state: SandboxState, app: AppCredentials, clock: Clock
    ) -> None:
        self._dialect = dialect
        self._state = state
        self._app = app
        self._clock = clock

    def routes(self) -> list[web.RouteDef]:
        """The authorize endpoint and the two form targets."""
        dialect = self._dialect
        return [
            web.get(dialect.authorize_path, self.authorize),
            web.post(dialect.number_path, self.submit_number),
            web.post(dialect.code_path, self.submit_code),
        ]

    async def authorize(self, request: web.Request) -> web.Response:
        """Identify the device by its enrichment header, else start the SMS-OTP fallback."""
        dialect, query = self._dialect, request.query
        if query.get(dialect.app_id_param) != self._app.app_id:
            return self._error(400, "应用未注册 (unknown application)")
        redirect_uri = query.get(dialect.redirect_param)
        if redirect_uri is None or not _valid_redirect_uri(redirect_uri):
            return self._error(400, "回调地址无效 (invalid redirect URI)")
        state = query.get("state")
        if not state or len(state) > _MAX_STATE:
            params = {"error": "invalid_request", "error_description": "state is required (1-512 characters)"}
            return _redirect(redirect_uri, params)
        now = self._clock.now()
        enriched = self._subscriber(request.headers.get(dialect.enrichment_header, ""))
        if enriched is not None:
            return self._approve(self._app.app_id, redirect_uri, state, enriched, "network", now)
        hint_value = query.get(dialect.hint_param)
        hint = dialect.decode_hint(hint_value) if hint_value else None
        session = OtpSession(
            txn=secrets.token_urlsafe(18),
            operator=dialect.operator,
            app_id=self._app.app_id,
            redirect_uri=redirect_uri,
            state=state,
            hint=hint if hint is not None and _NATIONAL.fullmatch(hint) else None,
            expires_at=now + SESSION_LIFETIME,
            attempts_left=OTP_ATTEMPTS,
        )
        self._state.otp_sessions.open(session, now=now)
        return self._number_form(session.txn, session.hint or "")

    async def submit_number(self, request: web.Request) -> web.Response:
        """Send the OTP to the number typed, if it is this operator's subscriber; answer the code form."""
        dialect = self._dialect
        form = await request.post()
        now = self._clock.now()
        session = self._session(form.get("txn"), now)
        if session is None:
            return self._error(400, "会话已过期 (session expired or unknown)")
        if session.otp is not None:
            return self._error(400, "验证码已发送 (a code was already sent for this session)")
        typed = form.get(dialect.number_field)
        typed = typed.replace(" ", "") if isinstance(typed, str) else ""
        match = _TYPED_NUMBER.fullmatch(typed)
        national = match.group(1) if match else None
        if national is None or self._subscriber(national) is None:
            error = f"请输入{dialect.brand}手机号码 (not a {dialect.operator} mobile number)"
            return self._number_form(session.txn, typed[:20], error)
        phone = from_national(national)
        otp = f"{secrets.randbelow(10**6):06d}"
        session.phone_number, session.otp, session.otp_expires_at = phone, otp, now + OTP_LIFETIME
        self._state.inboxes.deliver(phone, dialect.sms_sender, dialect.sms_text.format(otp=otp), now)
        return self._code_form(session.txn)

    async def submit_code(self, request: web.Request) -> web.Response:
        """Check the OTP: right, redirect with a code; wrong, the form again; 5th wrong or expired, deny."""
        form = await request.post()
        now = self._clock.now()
        session = self._session(form.get("txn"), now)
        if session is None:
            return self._error(400, "会话已过期 (session expired or unknown)")
        if session.otp is None or session.otp_expires_at is None or session.phone_number is None:
            return self._error(400, "尚未发送验证码 (no code was sent for this session)")
        if now >= session.otp_expires_at:
            return self._deny(session, "the SMS code expired")
        entered = form.get(self._dialect.code_field)
        if isinstance(entered, str) and hmac.compare_digest(entered.encode(), session.otp.encode()):
            self._state.otp_sessions.close(session.txn)
            return self._approve(
                session.app_id, session.redirect_uri, session.state, session.phone_number, "sms_otp", now
            )
        session.attempts_left -= 1
        if session.attempts_left <= 0:
            return self._deny(session, "too many wrong SMS codes")
        left = session.attempts_left
        return self._code_form(session.txn, f"验证码错误，还可尝试{left}次")  # noqa: RUF001 - Chinese text

    def redeem(
        self, value: str, *, app_id: str, redirect_uri: str, now: datetime
    ) -> tuple[CodeVerdict, AuthCode | None]:
        """Check a code presented by ``app_id`` with ``redirect_uri``; it comes back only if accepted.

        Checks run in this order: shape, existence, expiry, app, prior use, redirect URI. Only an
        accepted code is consumed.
        """
        if self._dialect.code_shape.fullmatch(value) is None:
            return CodeVerdict.MALFORMED, None
        code = self._state.codes.get(value)
        if code is None or code.operator != self._dialect.operator:
            return CodeVerdict.UNKNOWN, None
        if now >= code.expires_at:
            return CodeVerdict.EXPIRED, None
        if code.app_id != app_id:
            return CodeVerdict.WRONG_APP, None
        if code.used:
            return CodeVerdict.REPLAYED, None
        if code.redirect_uri != redirect_uri:
            return CodeVerdict.WRONG_REDIRECT, None
        code.used = True
        return CodeVerdict.ACCEPTED, code

    def _subscriber(self, national: str) -> str | None:
        """The E.164 number of ``national`` if it is one of this operator's subscribers."""
        if _NATIONAL.fullmatch(national) is None:
            return None
        subscriber = self._state.subscribers.get(from_national(national))
        if subscriber is None or subscriber.operator != self._dialect.operator:
            return None
        return subscriber.phone_number

    def _session(self, txn: object, now: datetime) -> OtpSession | None:
        if not isinstance(txn, str):
            return None
        session = self._state.otp_sessions.get(txn, now=now)
        return session if session is not None and session.operator == self._dialect.operator else None

    def _approve(
        self, app_id: str, redirect_uri: str, state: str, phone: str, method: AuthMethod, now: datetime
    ) -> web.Response:
        dialect = self._dialect
        code = AuthCode(
            value=dialect.new_code(),
            operator=dialect.operator,
            app_id=app_id,
            redirect_uri=redirect_uri,
            phone_number=phone,
            method=method,
            expires_at=now + dialect.code_lifetime,
        )
        self._state.codes.issue(code, now=now)
        return _redirect(redirect_uri, {"code": code.value, "state": state})

    def _deny(self, session: OtpSession, reason: str) -> web.Response:
        self._state.otp_sessions.close(session.txn)
        params = {"error": "access_denied", "error_description": reason, "state": session.state}
        return _redirect(session.redirect_uri, params)

    def _error(self, status: int, message: str) -> web.Response:
        return error_page(status, self._dialect.brand, message)

    def _number_form(self, txn: str, value: str, error: str | None = None) -> web.Response:
        dialect = self._dialect
        action, field = dialect.number_path, dialect.number_field
        return number_form(dialect.brand, action=action, txn=txn, field=field, value=value, error=error)

    def _code_form(self, txn: str, error: str | None = None) -> web.Response:
        dialect = self._dialect
        action, field = dialect.code_path, dialect.code_field
        return code_form(dialect.brand, action=action, txn=txn, field=field, error=error)
