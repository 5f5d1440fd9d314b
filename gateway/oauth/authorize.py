"""The authorization endpoint (RFC 6749 §4.1, OIDC Core §3.1) with network-based authentication.

``GET /oauth2/authorize`` validates the request, finds the device's operator (telco finder: the
source IP, else the ``login_hint`` number), stores the request for at most 300 s under an opaque
handle and sends the browser to the operator's authorization endpoint with that handle as
``state``. The operator identifies the subscriber (header enrichment / source IP on its data
network, or its SMS-OTP fallback) and returns to ``/oauth2/callback/{operator}``; the gateway takes
the pending request (single use), exchanges the operator's code for the subscriber and redirects
to the client with its own authorization code (:mod:`gateway.oauth.codes`).

Rules this implementation fixes:

- ``client_id`` and ``redirect_uri`` (exact string match with a registered URI) are checked first;
  their errors are answered directly (400), never redirected. Every later error is redirected
  with ``error``, ``error_description``, ``state`` and ``iss`` (RFC 9207).
- A signed request object (RFC 9101, ``request``; :mod:`gateway.oauth.request_objects`: ``aud`` the
  issuer or this endpoint's URL, ``iat`` and a single-use ``jti`` required, ``exp - iat`` at most
  300 s) replaces every parameter but ``client_id``, which must match its own. An object that
  does not verify is ``invalid_request_object``, redirected to the query's ``redirect_uri`` (with
  the query's ``state``) when that URI is registered, else answered directly; ``request_uri`` is
  ``request_uri_not_supported``. A client registered with ``require_signed_request_object`` (or
  every client, when the server requires it) sending plain parameters is ``invalid_request``.
- PKCE is required of every client, ``S256`` only (``plain`` and an absent method are refused).
- ``scope`` must include ``openid``; other scopes must be registered for the client, and a
  personal-data scope needs exactly one ``dpv:`` purpose beside it (two purposes are always
  refused; :func:`~gateway.oauth.user_tokens.requested_scopes`).
- Parameters may not repeat; only ``response_type=code`` and the ``query`` response mode.
- ``login_hint`` is ``tel:+<E.164>``; the operator uses it only for its SMS-OTP fallback.
- ``prompt=none`` demands network-based authentication without interaction: a device not on a
  supported mobile network, or an operator answer by SMS-OTP, ends in ``login_required``.
- Off the mobile network, with a ``login_hint`` and without ``prompt=none``, the gateway sends its
  own code by SMS (the verification workflow's SMS step, with the tenant's approved built-in
  verification template for the first ``ui_locales`` tag) and the browser goes to the code-entry
  page ``/oauth2/code-entry/{handle}`` instead of the operator; the right code issues the
  authorization code with ``amr`` ``["sms_otp"]`` (Number Verification refuses such tokens), the
  fifth wrong one or an expired code redirects ``access_denied``. A tenant without an approved
  verification template keeps the operator's own SMS-OTP fallback.
- A device on no supported network and without a usable hint: ``access_denied``; an operator that
  fails: ``temporarily_unavailable``; an operator that refuses its code: ``access_denied``.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Protocol
from urllib.parse import urlencode

import sqlalchemy as sa
import structlog
from sqlalchemy import RowMapping
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from carrier_adapters import (
    AuthMethod,
    CarrierError,
    NetworkAuthenticator,
    NumberNotServed,
    TokenRejected,
    operator_for_number,
)
from gateway.clock import Clock
from gateway.db import run_unit
from gateway.errors import (
    InvalidArgument,
    InvalidPhoneNumber,
    OAuthError,
    OAuthRedirect,
    ServiceNotApplicable,
    TooManyRequests,
    VerificationInProgress,
)
from gateway.oauth import pkce
from gateway.oauth.codes import CodeStore
from gateway.oauth.models import PendingAuthorization
from gateway.oauth.request_objects import RequestObjects
from gateway.oauth.subjects import E164, AuthenticatedSubscriber
from gateway.oauth.telco_finder import TelcoFinder
from gateway.oauth.user_tokens import requested_scopes
from gateway.tenants.models import Tenant
from gateway.tenants.service import TenantService

__all__ = ["PENDING_TTL", "AuthorizationService", "CodeEntry", "CodeFallback", "redirect_location"]

PENDING_TTL = 300
Params = Mapping[str, Sequence[str]]
_TABLE = PendingAuthorization.__table__  # type: ignore[attr-defined]
_PROMPTS = frozenset({"none", "login", "consent", "select_account"})
_USER_REFUSALS = frozenset({"access_denied", "login_required", "interaction_required", "consent_required"})
_MAX_STATE, _MAX_NONCE = 512, 256
_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")
_ENTRY_PREFIX = "vck_"
log = structlog.get_logger(__name__)


def redirect_location(uri: str, params: Mapping[str, str]) -> str:
    """``uri`` with ``params`` added to its query; an existing query is kept (RFC 6749 §3.1.2)."""
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


class CodeTried(Protocol):
    """One code typed: the verified number when it was right; ``ended`` when no attempt is left."""

    @property
    def phone_number(self) -> str | None: ...
    @property
    def attempts_left(self) -> int: ...
    @property
    def ended(self) -> bool: ...


class CodeFallback(Protocol):
    """The verification workflow's SMS step, as the code-entry fallback uses it."""

    async def start_code(self, tenant_id: str, phone: str, *, locale: str | None) -> str | None:
        """Send a code; the verification id, or None when the tenant has no code template."""
        ...

    async def try_code(self, tenant_id: str, request_id: str, code: str) -> CodeTried:
        """Check one typed code."""
        ...


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """What a submitted code leads to: a redirect (to the client), or the form again."""

    location: str | None
    attempts_left: int


def _single(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[0] if values and len(values) == 1 else None


def _check_parameters(params: Params) -> None:
    """No parameter repeats; no request object by reference."""
    repeated = sorted(name for name, values in params.items() if len(values) > 1)
    if repeated:
        raise OAuthError("invalid_request", f"Parameters must not repeat: {', '.join(repeated[:5])}.")
    if "request_uri" in params:
        raise OAuthError(
            "request_uri_not_supported", "request_uri is not supported; send the request object in request."
        )


def _check_response_type(params: Params) -> None:
    """``response_type=code`` in the ``query`` response mode."""
    response_type = _single(params, "response_type")
    if response_type is None:
        raise OAuthError("invalid_request", "response_type is required.")
    if response_type != "code":
        raise OAuthError("unsupported_response_type", "Only response_type=code is supported.")
    if _single(params, "response_mode") not in (None, "query"):
        raise OAuthError("invalid_request", "Only the query response mode is supported.")


def _pkce_challenge(params: Params) -> str:
    """The ``S256`` PKCE challenge."""
    challenge, method = _single(params, "code_challenge"), _single(params, "code_challenge_method")
    if challenge is None or method is None:
        raise OAuthError(
            "invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256."
        )
    if method != pkce.CHALLENGE_METHOD or not pkce.is_challenge(challenge):
        raise OAuthError("invalid_request", "Only S256 PKCE challenges are supported.")
    return challenge


def _echoed(state: str | None) -> str | None:
    """``state`` to echo in an error redirect: not when oversized."""
    return state if state is None or len(state) <= _MAX_STATE else None


def _check_lengths(state: str | None, nonce: str | None) -> None:
    if (state and len(state) > _MAX_STATE) or (nonce and len(nonce) > _MAX_NONCE):
        raise OAuthError("invalid_request", "state or nonce is too long.")


def _prompt(params: Params) -> str | None:
    """``prompt``: known values only, ``none`` alone."""
    prompt = _single(params, "prompt")
    prompts = frozenset(prompt.split()) if prompt else frozenset()
    if not prompts <= _PROMPTS or ("none" in prompts and len(prompts) > 1):
        raise OAuthError("invalid_request", "prompt is not valid.")
    return prompt


def _login_hint_number(params: Params) -> str | None:
    """The E.164 number of a ``tel:`` ``login_hint``."""
    hint = _single(params, "login_hint")
    if hint is None:
        return None
    number = hint.removeprefix("tel:")
    if not hint.startswith("tel:") or not E164.match(number):
        raise OAuthError("invalid_request", "login_hint must be tel:+<E.164 number>.")
    return number


@dataclass(frozen=True, slots=True)
class _Request:
    tenant: Tenant
    redirect_uri: str
    scopes: frozenset[str]
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: str | None
    login_hint: str | None
    locale: str | None


def _locale(params: Params) -> str | None:
    """The first ``ui_locales`` tag, when it is a well-formed language tag."""
    tags = (_single(params, "ui_locales") or "").split()
    return tags[0] if tags and _LOCALE.match(tags[0]) else None


class AuthorizationService:
    """The authorization endpoint and the operators' callback; see the module docstring."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        tenants: TenantService,
        authenticators: Mapping[str, NetworkAuthenticator],
        finder: TelcoFinder,
        codes: CodeStore,
        clock: Clock,
        issuer: str,
        request_objects: RequestObjects,
        require_signed: bool = False,
        code_fallback: CodeFallback | None = None,
    ) -> None:
        self._engine = engine
        self._code_fallback = code_fallback
        self._request_objects = request_objects
        self._require_signed = require_signed
        self._tenants = tenants
        self._authenticators = authenticators
        self._finder = finder
        self._codes = codes
        self._clock = clock
        self._issuer = issuer

    def callback_url(self, operator: str) -> str:
        """Where ``operator`` returns the browser (one URI per operator, against mix-up)."""
        return f"{self._issuer}/oauth2/callback/{operator}"

    def error_location(self, error: OAuthRedirect) -> str:
        """The client redirect carrying ``error`` (with ``iss``, RFC 9207)."""
        return redirect_location(error.redirect_uri, {**error.params(), "iss": self._issuer})

    async def start(self, params: Params, *, peer: str | None, forwarded_for: str | None) -> str:
        """Validate an authorization request and answer the operator URL to redirect the browser to.

        :raises InvalidArgument: unknown ``client_id`` or unregistered ``redirect_uri``.
        :raises OAuthRedirect: any other error, for the client.
        """
        request = await self._validate(params)

        def fail(error: str, description: str) -> OAuthRedirect:
            return OAuthRedirect(error, description, redirect_uri=request.redirect_uri, state=request.state)

        by_ip = self._finder.operator_for_ip(self._finder.client_ip(peer, forwarded_for))
        operator = by_ip or (operator_for_number(request.login_hint) if request.login_hint else None)
        if by_ip is None and request.prompt == "none":
            raise fail("login_required", "The device is not on a supported mobile network.")
        if by_ip is None and operator is not None and request.login_hint is not None:
            entry = await self._start_code_entry(request, operator, fail)
            if entry is not None:
                return entry
        authenticator = self._authenticators.get(operator) if operator else None
        if operator is None or authenticator is None:
            raise fail("access_denied", "The device is not on a supported mobile network.")
        handle = secrets.token_urlsafe(32)
        try:
            target = authenticator.authorization_url(
                redirect_uri=self.callback_url(operator), state=handle, login_hint=request.login_hint
            )
        except CarrierError as exc:
            log.warning("operator_authorize_failed", operator=operator, error=type(exc).__name__)
            raise fail("temporarily_unavailable", "The mobile operator is unavailable.") from exc
        await self._store(handle, request, operator)
        log.info("authorization_started", operator=operator, located_by="ip" if by_ip else "login_hint")
        return target

    async def finish(self, operator: str, params: Params) -> str:
        """Complete the operator's callback: answer the client redirect with a code or an error.

        :raises InvalidArgument: no pending request for this ``state`` and operator.
        :raises OAuthRedirect: the authentication failed.
        """
        handle = _single(params, "state")
        pending = await self._take(handle) if handle else None
        if pending is None or pending["operator"] != operator or pending["verification_id"] is not None:
            raise InvalidArgument("The authorization request is unknown, expired or already completed.")

        def fail(error: str, description: str) -> OAuthRedirect:
            return OAuthRedirect(
                error, description, redirect_uri=pending["redirect_uri"], state=pending["state"]
            )

        refusal = _single(params, "error")
        if refusal is not None:
            log.info("operator_authorize_refused", operator=operator, error=refusal[:40])
            if refusal in _USER_REFUSALS:
                raise fail("access_denied", "The mobile operator did not authenticate the subscriber.")
            raise fail("temporarily_unavailable", "The mobile operator is unavailable.")
        subscriber = await self._identify(operator, _single(params, "code"), pending["prompt"], fail)
        return await self._complete(pending, subscriber)

    async def enter_code(self, handle: str, code: str) -> CodeEntry:
        """A code typed on the code-entry page: the client redirect (with our code when it was
        right, ``access_denied`` when no attempt is left), else the form again.

        :raises InvalidArgument: no pending code entry for this handle.
        """
        pending = await self._peek_entry(handle)
        if self._code_fallback is None:
            raise InvalidArgument("The authorization request is unknown, expired or already completed.")
        tried = await self._code_fallback.try_code(pending["tenant_id"], pending["verification_id"], code)
        if tried.phone_number is None and not tried.ended:
            return CodeEntry(None, tried.attempts_left)
        taken = await self._take(handle)
        if taken is None:
            raise InvalidArgument("The authorization request is unknown, expired or already completed.")
        if tried.phone_number is None:
            refused = OAuthRedirect(
                "access_denied",
                "The subscriber did not enter the code sent by SMS.",
                redirect_uri=taken["redirect_uri"],
                state=taken["state"],
            )
            return CodeEntry(self.error_location(refused), 0)
        subscriber = AuthenticatedSubscriber(
            tried.phone_number, taken["operator"], (AuthMethod.SMS_OTP.value,), self._clock.now()
        )
        return CodeEntry(await self._complete(taken, subscriber), 0)

    async def check_code_entry(self, handle: str) -> None:
        """:raises InvalidArgument: no pending code entry for this handle."""
        await self._peek_entry(handle)

    async def _complete(self, pending: RowMapping, subscriber: AuthenticatedSubscriber) -> str:
        """Issue the gateway's code for the pending request: the client redirect."""
        code = await self._codes.issue(
            tenant_id=pending["tenant_id"],
            client_id=pending["client_id"],
            redirect_uri=pending["redirect_uri"],
            scope=pending["scope"],
            nonce=pending["nonce"],
            code_challenge=pending["code_challenge"],
            subscriber=subscriber,
        )
        answer = {"code": code, "iss": self._issuer}
        if pending["state"] is not None:
            answer["state"] = pending["state"]
        log.info("authorization_completed", operator=subscriber.operator, amr=list(subscriber.amr))
        return redirect_location(pending["redirect_uri"], answer)

    async def _start_code_entry(
        self, request: _Request, operator: str, fail: Callable[[str, str], OAuthRedirect]
    ) -> str | None:
        """Send our code to the hinted number; the code-entry page's URL, or None when the tenant
        has no approved verification template (the operator's fallback runs instead)."""
        if self._code_fallback is None or request.login_hint is None:
            return None
        try:
            verification = await self._code_fallback.start_code(
                request.tenant.id, request.login_hint, locale=request.locale
            )
        except VerificationInProgress as exc:
            raise fail("temporarily_unavailable", "A code was sent to this number moments ago.") from exc
        except TooManyRequests as exc:
            raise fail("temporarily_unavailable", "Too many codes were sent; try again later.") from exc
        except (InvalidPhoneNumber, ServiceNotApplicable) as exc:
            raise fail("access_denied", "The number cannot receive an SMS code.") from exc
        if verification is None:
            return None
        handle = _ENTRY_PREFIX + secrets.token_urlsafe(32)
        await self._store(handle, request, operator, verification)
        log.info("authorization_code_entry_started", operator=operator)
        return f"{self._issuer}/oauth2/code-entry/{handle}"

    async def _peek_entry(self, handle: str) -> RowMapping:
        digest = hashlib.sha256(handle.encode()).hexdigest()
        found = await run_unit(self._engine, partial(_peek_pending, digest, self._clock.now()), writes=False)
        if found is None or found["verification_id"] is None:
            raise InvalidArgument("The authorization request is unknown, expired or already completed.")
        return found

    async def _identify(
        self, operator: str, code: str | None, prompt: str | None, fail: Callable[[str, str], OAuthRedirect]
    ) -> AuthenticatedSubscriber:
        authenticator = self._authenticators.get(operator)
        if code is None or authenticator is None:
            raise fail("temporarily_unavailable", "The mobile operator returned no authorization.")
        try:
            identity = await authenticator.exchange_code(code, redirect_uri=self.callback_url(operator))
        except (TokenRejected, NumberNotServed) as exc:
            log.info("operator_code_rejected", operator=operator, result_code=exc.code)
            raise fail("access_denied", "The mobile operator did not authenticate the subscriber.") from exc
        except CarrierError as exc:
            log.warning("operator_code_exchange_failed", operator=operator, error=type(exc).__name__)
            raise fail("temporarily_unavailable", "The mobile operator is unavailable.") from exc
        if identity.operator != operator or not E164.match(identity.phone_number):
            log.warning("operator_identity_inconsistent", operator=operator)
            raise fail("temporarily_unavailable", "The mobile operator returned an invalid answer.")
        if prompt == "none" and identity.method is not AuthMethod.NETWORK:
            raise fail("login_required", "The subscriber could not be authenticated by the mobile network.")
        return AuthenticatedSubscriber(
            identity.phone_number, operator, (identity.method.value,), self._clock.now()
        )

    async def _validate(self, query: Params) -> _Request:
        """The request, checked step by step in this order (the first failing step answers).

        :raises InvalidArgument: the client or its redirect URI (answered directly).
        :raises OAuthRedirect: any later step, sent to the redirect URI with the state (when it is
            not oversized).
        """
        tenant = await self._tenant(query)
        params = await self._parameters(tenant, query)
        redirect_uri = self._redirect_uri(tenant, params)
        state = _single(params, "state")
        try:
            _check_response_type(params)
            scopes = requested_scopes(tenant, _single(params, "scope"), require_openid=True)
            challenge = _pkce_challenge(params)
            nonce = _single(params, "nonce")
            _check_lengths(state, nonce)
            prompt = _prompt(params)
            number = _login_hint_number(params)
        except OAuthError as exc:
            raise OAuthRedirect(
                exc.error, exc.description, redirect_uri=redirect_uri, state=_echoed(state)
            ) from exc
        return _Request(
            tenant, redirect_uri, scopes, state, nonce, challenge, prompt, number, _locale(params)
        )

    async def _parameters(self, tenant: Tenant, query: Params) -> Params:
        """The request's parameters: the query's, or those of its signed request object.

        :raises InvalidArgument: an error when the query has no registered ``redirect_uri`` to
            send it to.
        :raises OAuthRedirect: repeated parameters, ``request_uri``, a request object that does not
            verify, or plain parameters from a client that must sign its requests.
        """
        try:
            _check_parameters(query)
            request_object = _single(query, "request")
            if request_object is not None:
                signed = await self._request_objects.parameters(request_object, tenant)
                return {name: [value] for name, value in signed.items()}
            if tenant.require_signed_request_object or self._require_signed:
                raise OAuthError(
                    "invalid_request",
                    "This client must send its request as a signed request object (request).",
                )
        except OAuthError as exc:
            redirect_uri = _single(query, "redirect_uri")
            if redirect_uri is None or redirect_uri not in json.loads(tenant.redirect_uris):
                raise InvalidArgument(exc.description) from exc
            state = _echoed(_single(query, "state"))
            raise OAuthRedirect(exc.error, exc.description, redirect_uri=redirect_uri, state=state) from exc
        return query

    async def _tenant(self, params: Params) -> Tenant:
        """The registered client.

        :raises InvalidArgument: unknown ``client_id``.
        """
        client_id = _single(params, "client_id")
        tenant = await self._tenants.by_client_id(client_id) if client_id else None
        if tenant is None:
            raise InvalidArgument("The client_id is missing or unknown.")
        return tenant

    @staticmethod
    def _redirect_uri(tenant: Tenant, params: Params) -> str:
        """The redirect URI, one ``tenant`` registered.

        :raises InvalidArgument: missing or unregistered.
        """
        redirect_uri = _single(params, "redirect_uri")
        if redirect_uri is None or redirect_uri not in json.loads(tenant.redirect_uris):
            raise InvalidArgument("The redirect_uri is missing or not registered for this client.")
        return redirect_uri

    async def _store(
        self, handle: str, request: _Request, operator: str, verification_id: str | None = None
    ) -> None:
        now = self._clock.now()
        row = {
            "handle_hash": hashlib.sha256(handle.encode()).hexdigest(),
            "tenant_id": request.tenant.id,
            "client_id": request.tenant.client_id,
            "redirect_uri": request.redirect_uri,
            "scope": " ".join(sorted(request.scopes)),
            "state": request.state,
            "nonce": request.nonce,
            "code_challenge": request.code_challenge,
            "prompt": request.prompt,
            "operator": operator,
            "verification_id": verification_id,
            "created_at": now,
            "expires_at": now + timedelta(seconds=PENDING_TTL),
        }
        await run_unit(self._engine, partial(_insert_pending, row, now))

    async def _take(self, handle: str) -> RowMapping | None:
        digest = hashlib.sha256(handle.encode()).hexdigest()
        return await run_unit(self._engine, partial(_take_pending, digest, self._clock.now()))


def _insert_pending(row: Mapping[str, object], now: datetime, conn: Connection) -> None:
    conn.execute(sa.delete(_TABLE).where(_TABLE.c.expires_at < now))
    conn.execute(sa.insert(_TABLE).values(**row))


def _peek_pending(digest: str, now: datetime, conn: Connection) -> RowMapping | None:
    """The unexpired pending request with this handle digest, left in place."""
    found = conn.execute(
        sa.select(_TABLE).where((_TABLE.c.handle_hash == digest) & (_TABLE.c.expires_at > now))
    )
    return found.mappings().first()


def _take_pending(digest: str, now: datetime, conn: Connection) -> RowMapping | None:
    """Delete and return the unexpired pending request with this handle digest (single use)."""
    taken = conn.execute(
        sa.delete(_TABLE)
        .where((_TABLE.c.handle_hash == digest) & (_TABLE.c.expires_at > now))
        .returning(*_TABLE.c)
    )
    return taken.mappings().first()
