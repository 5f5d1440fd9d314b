"""Client-Initiated Backchannel Authentication (OpenID CIBA Core 1.0), poll mode, CAMARA profile.

``POST /oauth2/bc-authorize`` (client authentication required) takes ``scope`` (with ``openid`` and,
beside a personal-data scope, exactly one ``dpv:`` purpose; else ``invalid_scope``, see
:func:`~gateway.oauth.user_tokens.requested_scopes`) and a ``login_hint`` only (``tel:+E164`` or
``operatortoken:<SDK token>``; ``login_hint_token`` and ``id_token_hint`` are refused;
``binding_message``, ``user_code`` and ``requested_expiry`` are ignored) and answers ``{auth_req_id,
expires_in, interval}``. A signed authentication request (CIBA Core §7.1.1: ``request``, verified by
:mod:`gateway.oauth.request_objects`: ``aud`` the issuer or this endpoint's URL, ``iat``, ``nbf``
and a single-use ``jti`` required, ``exp - iat`` at most 300 s) replaces those parameters;
``request_uri`` is ``invalid_request``; a client registered with ``require_signed_request_object``
(or every client, when the server requires it) sending plain parameters is ``invalid_request``.
A ``tel:`` hint is settled at once (identified, ``amr`` ``tel``); an operator token is exchanged in
the background by the process that accepted the request.

The client polls the token endpoint with ``urn:openid:params:grant-type:ciba``: before the
authentication settles ``authorization_pending``; sooner than ``interval`` seconds after its
previous poll ``slow_down`` (and the wait starts again); after ``expires_in`` ``expired_token``;
a refused authentication ``access_denied``; another tenant's or an already redeemed
``auth_req_id`` ``invalid_grant``. All state is in the database, so any gateway process answers a
poll; a request whose accepting process dies before settling it expires.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy import RowMapping
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from gateway.clock import Clock
from gateway.crypto import FieldCipher
from gateway.db import as_utc, run_unit
from gateway.errors import OAuthError
from gateway.oauth.models import BackchannelRequest
from gateway.oauth.request_objects import RequestObjects
from gateway.oauth.subjects import (
    AuthenticatedSubscriber,
    HintError,
    LoginHint,
    SubjectRejected,
    SubjectResolver,
    SubjectUnavailable,
)
from gateway.oauth.user_tokens import requested_scopes
from gateway.tenants.models import Tenant

__all__ = ["GRANT_TYPE", "BackchannelAuthentication", "SettledRequest"]

GRANT_TYPE = "urn:openid:params:grant-type:ciba"
_TABLE = BackchannelRequest.__table__  # type: ignore[attr-defined]
_KEEP_EXPIRED = timedelta(hours=1)
_REFUSED_HINTS = ("login_hint_token", "id_token_hint")
_POLL_ERRORS = {
    "pending": ("authorization_pending", "The authentication is still in progress."),
    "slow_down": ("slow_down", "Polling too fast; wait the interval between requests."),
    "expired": ("expired_token", "The auth_req_id has expired."),
    "denied": ("access_denied", "The subscriber could not be authenticated."),
}
_UNKNOWN_REQUEST = ("invalid_grant", "The auth_req_id is unknown or already used.")
log = structlog.get_logger(__name__)


def _digest(auth_req_id: str) -> str:
    return hashlib.sha256(auth_req_id.encode()).hexdigest()


def _aad(tenant_id: str, id_hash: str) -> str:
    return f"{tenant_id}|oauth_backchannel_requests|phone_cipher|{id_hash}"


@dataclass(frozen=True, slots=True)
class SettledRequest:
    """A successfully authenticated CIBA request, redeemed once: its scopes and subscriber."""

    scopes: frozenset[str]
    subscriber: AuthenticatedSubscriber


class BackchannelAuthentication:
    """CIBA requests and polls; see the module docstring."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        subjects: SubjectResolver,
        cipher: FieldCipher,
        clock: Clock,
        interval: int,
        expires_in: int,
        request_objects: RequestObjects,
        require_signed: bool = False,
    ) -> None:
        self._engine = engine
        self._request_objects = request_objects
        self._require_signed = require_signed
        self._subjects = subjects
        self._cipher = cipher
        self._clock = clock
        self._interval = interval
        self._expires_in = expires_in
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, tenant: Tenant, form: Mapping[str, str]) -> dict[str, Any]:
        """Accept an authentication request of ``tenant``; the body of the bc-authorize answer.

        :raises OAuthError: ``invalid_request``, ``invalid_request_object``, ``invalid_scope``,
            ``unknown_user_id``.
        """
        form = await self._parameters(tenant, form)
        refused = [name for name in _REFUSED_HINTS if name in form]
        if refused:
            raise OAuthError("invalid_request", f"{refused[0]} is not supported; use login_hint.")
        scopes = requested_scopes(tenant, form.get("scope"), require_openid=True)
        if not form.get("login_hint"):
            raise OAuthError("invalid_request", "login_hint is required.")
        try:
            hint = self._subjects.parse(form["login_hint"])
        except HintError as exc:
            error = "unknown_user_id" if exc.reason == "unknown" else "invalid_request"
            raise OAuthError(error, str(exc)) from exc
        auth_req_id = secrets.token_urlsafe(32)
        id_hash = _digest(auth_req_id)
        now = self._clock.now()
        row: dict[str, Any] = {
            "id_hash": id_hash,
            "tenant_id": tenant.id,
            "client_id": tenant.client_id,
            "scope": " ".join(sorted(scopes)),
            "status": "pending",
            "next_poll_at": now,
            "created_at": now,
            "expires_at": now + timedelta(seconds=self._expires_in),
        }
        settled_now = hint.kind == "tel"
        if settled_now:
            row.update(self._granted(tenant.id, id_hash, await self._subjects.authenticate(hint)))
        await run_unit(self._engine, partial(_insert_request, row, now - _KEEP_EXPIRED))
        if not settled_now:
            task = asyncio.create_task(self._settle(id_hash, tenant.id, hint))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        log.info("ciba_started", operator=hint.operator, hint=hint.kind)
        return {"auth_req_id": auth_req_id, "expires_in": self._expires_in, "interval": self._interval}

    async def _parameters(self, tenant: Tenant, form: Mapping[str, str]) -> Mapping[str, str]:
        """The form's parameters, or those of its signed authentication request."""
        if "request_uri" in form:
            raise OAuthError(
                "invalid_request", "request_uri is not supported; send the signed request in request."
            )
        if "request" in form:
            return await self._request_objects.parameters(form["request"], tenant, ciba=True)
        if tenant.require_signed_request_object or self._require_signed:
            raise OAuthError(
                "invalid_request", "This client must send a signed authentication request (request)."
            )
        return form

    async def poll(self, tenant: Tenant, auth_req_id: str) -> SettledRequest:
        """Redeem ``auth_req_id`` for ``tenant`` once its authentication has succeeded.

        :raises OAuthError: ``authorization_pending``, ``slow_down``, ``expired_token``,
            ``access_denied`` or ``invalid_grant``.
        """
        id_hash = _digest(auth_req_id)
        now = self._clock.now()
        poll = partial(_poll, id_hash, tenant.id, now, self._next_poll(now))
        status, row = await run_unit(self._engine, poll)
        if row is not None:
            return self._settled(tenant.id, id_hash, row)
        raise OAuthError(*_POLL_ERRORS.get(status, _UNKNOWN_REQUEST))

    async def aclose(self) -> None:
        """Cancel background authentications still running (their requests will expire)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _next_poll(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self._interval)

    def _granted(self, tenant_id: str, id_hash: str, subscriber: AuthenticatedSubscriber) -> dict[str, Any]:
        return {
            "status": "granted",
            "phone_cipher": self._cipher.encrypt(subscriber.phone_number, aad=_aad(tenant_id, id_hash)),
            "operator": subscriber.operator,
            "amr": " ".join(subscriber.amr),
            "auth_time": subscriber.auth_time,
        }

    def _settled(self, tenant_id: str, id_hash: str, row: RowMapping) -> SettledRequest:
        subscriber = AuthenticatedSubscriber(
            phone_number=self._cipher.decrypt(row["phone_cipher"], aad=_aad(tenant_id, id_hash)),
            operator=row["operator"],
            amr=tuple(row["amr"].split()),
            auth_time=as_utc(row["auth_time"]) or self._clock.now(),
        )
        return SettledRequest(frozenset(row["scope"].split()), subscriber)

    async def _settle(self, id_hash: str, tenant_id: str, hint: LoginHint) -> None:
        outcome: dict[str, Any] = {"status": "denied"}
        try:
            outcome = self._granted(tenant_id, id_hash, await self._subjects.authenticate(hint))
        except (SubjectRejected, SubjectUnavailable) as exc:
            log.info("ciba_denied", operator=hint.operator, reason=str(exc))
        except Exception:
            log.exception("ciba_failed", operator=hint.operator)
        try:
            await run_unit(self._engine, partial(_record_outcome, id_hash, outcome))
        except sa.exc.SQLAlchemyError:
            log.exception("ciba_settle_failed", operator=hint.operator)
        else:
            log.info("ciba_settled", operator=hint.operator, status=outcome["status"])


def _insert_request(row: dict[str, Any], drop_before: datetime, conn: Connection) -> None:
    conn.execute(sa.delete(_TABLE).where(_TABLE.c.expires_at < drop_before))
    conn.execute(sa.insert(_TABLE).values(**row))


def _poll(
    id_hash: str, tenant_id: str, now: datetime, next_poll_at: datetime, conn: Connection
) -> tuple[str, RowMapping | None]:
    """One poll: its status and, when granted, the request's row (then marked consumed).

    A poll of a live request sooner than its interval is ``slow_down`` and pushes the next
    allowed poll back; otherwise the status is ``pending``, ``granted``, ``denied``,
    ``consumed``, ``expired`` or ``unknown``.
    """
    mine = (_TABLE.c.id_hash == id_hash) & (_TABLE.c.tenant_id == tenant_id)
    polled = conn.execute(
        sa.update(_TABLE)
        .where(mine & (_TABLE.c.next_poll_at <= now) & (_TABLE.c.expires_at > now))
        .values(next_poll_at=next_poll_at)
        .returning(_TABLE.c.status)
    ).scalar()
    if polled is None:
        return _why_not(conn, mine, now, next_poll_at), None
    if polled != "granted":
        return polled, None
    consumed = conn.execute(
        sa.update(_TABLE)
        .where(mine & (_TABLE.c.status == "granted"))
        .values(status="consumed")
        .returning(*_TABLE.c)
    )
    return polled, consumed.mappings().first()


def _why_not(conn: Connection, mine: ColumnElement[bool], now: datetime, next_poll_at: datetime) -> str:
    row = conn.execute(sa.select(_TABLE.c.expires_at).where(mine)).first()
    if row is None:
        return "unknown"
    expires_at = as_utc(row.expires_at)
    if expires_at is not None and expires_at <= now:
        return "expired"
    conn.execute(sa.update(_TABLE).where(mine).values(next_poll_at=next_poll_at))
    return "slow_down"


def _record_outcome(id_hash: str, outcome: dict[str, Any], conn: Connection) -> None:
    pending = (_TABLE.c.id_hash == id_hash) & (_TABLE.c.status == "pending")
    conn.execute(sa.update(_TABLE).where(pending).values(**outcome))
