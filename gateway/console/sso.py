"""Single sign-on to a tenant's own OIDC identity provider (docs/console.md, "Single sign-on").

- :class:`SsoConfigs` keeps a tenant's provider: issuer URL, client id and client secret (AES-GCM
  encrypted, :func:`~gateway.console.sso_models.client_secret_aad`). Changing the issuer unlinks
  every member of the tenant (a subject means nothing at another provider). Entries
  ``sso.configured`` and ``sso.removed`` go into the tenant's audit log.
- :class:`SingleSignOn` runs the authorization code flow: :meth:`~SingleSignOn.start` stores a
  state (SHA-256 at rest), a nonce and a PKCE S256 verifier server side for ten minutes, bound to
  the browser by a cookie value, and answers the provider's authorize URL;
  :meth:`~SingleSignOn.finish` claims the state once, exchanges the code at the token endpoint
  (``client_secret_basic``, or ``client_secret_post`` when the provider offers only that), checks
  the ID token with joserfc against the provider's JWKS (signature by an asymmetric algorithm,
  ``iss``, ``aud``/``azp``, ``exp``, ``iat``, ``nonce``, ``sub``), finds the member of *that
  tenant* linked to ``sub`` (``staff_members.sso_subject``, set by an admin) and starts the same
  console session as a password sign-in. No TOTP is asked: the provider owns the factors.
  The entry ``staff.sso_sign_in`` records it.

Every failure is one :class:`SsoFailed` with a :data:`Reason` the page turns into words; an
unlinked and a disabled member are the same ``no_account``. Discovery documents and JWKS are
cached for five minutes; a signature that no cached key verifies fetches the JWKS once more (key
rotation).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal, Protocol
from urllib.parse import quote, urlencode, urlsplit

import sqlalchemy as sa
import structlog
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError, MissingKeyError
from joserfc.jwk import KeySet
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.console.idp_http import IdpHttp, IdpUnreachable
from gateway.console.sessions import ConsoleSessions, StartedSession
from gateway.console.sso_models import SsoState, TenantSso, client_secret_aad, state_secrets_aad
from gateway.crypto import DecryptionError, FieldCipher
from gateway.db import as_utc
from gateway.errors import InvalidArgument, NotFound
from gateway.staff import AuditLog, StaffMember
from gateway.staff.audit import audit_record
from gateway.staff.models import StaffAccount
from gateway.tenants.models import Tenant

__all__ = [
    "ID_TOKEN_ALGORITHMS",
    "STATE_LIFETIME",
    "Reason",
    "SingleSignOn",
    "SsoAccounts",
    "SsoConfig",
    "SsoConfigs",
    "SsoFailed",
    "Started",
    "pkce_challenge",
    "validate_id_token",
]

log = structlog.get_logger(__name__)

STATE_LIFETIME: Final = timedelta(minutes=10)
ID_TOKEN_ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384")
LEEWAY_SECONDS: Final = 60
_CACHE_SECONDS: Final = 300.0
_ACCOUNTS: sa.Table = StaffAccount.__table__  # type: ignore[attr-defined]

Reason = Literal["not_configured", "unreachable", "expired", "denied", "invalid_token", "no_account"]
"""Why a single sign-on failed: no provider for the tenant; the provider could not be asked or
answered nonsense; the sign-in is unknown, used, expired or from another browser; the provider
refused (the user cancelled, the code was refused); the ID token failed a check; no enabled member
of the tenant is linked to the subject."""


class SsoFailed(Exception):
    """A single sign-on that did not sign anyone in; ``tenant_id`` when known (the page links back)."""

    def __init__(self, reason: Reason, tenant_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason: Reason = reason
        self.tenant_id = tenant_id


class SsoAccounts(Protocol):
    """The staff accounts, as single sign-on looks them up."""

    async def sso_member(self, tenant_id: str, subject: str) -> StaffMember | None:
        """The tenant's member linked to ``subject`` (disabled ones included), or None."""
        ...


@dataclass(frozen=True, slots=True)
class SsoConfig:
    """A tenant's identity provider; ``client_secret`` is decrypted (never put it in an answer)."""

    tenant_id: str
    issuer: str
    client_id: str
    client_secret: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Started:
    """A sign-in sent to the provider: where the browser goes, and the cookie value binding it."""

    authorize_url: str
    browser_token: str


@dataclass(frozen=True, slots=True)
class _Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    basic_auth: bool


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 ``S256``: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _issuer_problem(issuer: str) -> str | None:
    try:
        parts = urlsplit(issuer)
    except ValueError:
        return "issuer: not a valid URL."
    if parts.query or parts.fragment:
        return "issuer: an issuer URL has no query or fragment."
    return None


class SsoConfigs:
    """Tenants' identity providers (see the module docstring); ``idp`` checks issuer URLs."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        cipher: FieldCipher,
        idp: IdpHttp,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._cipher = cipher
        self._idp = idp
        self._clock = clock

    async def put(self, tenant_id: str, *, issuer: str, client_id: str, client_secret: str) -> SsoConfig:
        """Set the tenant's provider (creating or replacing it).

        :raises NotFound: no such tenant.
        :raises InvalidArgument: an issuer URL the outbound policy refuses, or with a query.
        """
        problem = _issuer_problem(issuer)
        if problem is not None:
            raise InvalidArgument(problem)
        try:
            self._idp.check_url(issuer)
        except IdpUnreachable as exc:
            raise InvalidArgument(f"issuer: {str(exc).removeprefix('refused URL: ')}.") from exc
        now = self._clock.now()
        secret_cipher = self._cipher.encrypt(client_secret, aad=client_secret_aad(tenant_id))
        async with self._sessions() as session, session.begin():
            if await session.get(Tenant, tenant_id) is None:
                raise NotFound()
            row = await session.get(TenantSso, tenant_id)
            unlinked = 0
            if row is None:
                row = TenantSso(
                    tenant_id=tenant_id,
                    issuer=issuer,
                    client_id=client_id,
                    client_secret_cipher=secret_cipher,
                    created_at=now,
                    updated_at=now,
                )
            else:
                if row.issuer != issuer:
                    moved = await session.exec(
                        sa.update(_ACCOUNTS)
                        .where(_ACCOUNTS.c.tenant_id == tenant_id, _ACCOUNTS.c.sso_subject.is_not(None))
                        .values(sso_subject=None, updated_at=now)
                    )
                    unlinked = int(moved.rowcount or 0)
                row.issuer, row.client_id, row.client_secret_cipher = issuer, client_id, secret_cipher
                row.updated_at = now
            session.add(row)
            detail = {"issuer": issuer, "clientId": client_id, "unlinked": unlinked, "via": "admin-api"}
            session.add(
                audit_record(
                    tenant_id=tenant_id,
                    actor=None,
                    action="sso.configured",
                    target=f"tenant:{tenant_id}",
                    detail=detail,
                    clock=self._clock,
                )
            )
            created_at = row.created_at
        log.info("sso_configured", tenant_id=tenant_id, unlinked=unlinked)
        return SsoConfig(tenant_id, issuer, client_id, client_secret, as_utc(created_at), now)

    async def get(self, tenant_id: str) -> SsoConfig | None:
        """The tenant's provider, or None (no such tenant, or none set)."""
        async with self._sessions() as session:
            row = await session.get(TenantSso, tenant_id)
        if row is None:
            return None
        try:
            secret = self._cipher.decrypt(row.client_secret_cipher, aad=client_secret_aad(tenant_id))
        except DecryptionError:
            log.warning("sso_client_secret_undecryptable", tenant_id=tenant_id)
            return None
        return SsoConfig(
            row.tenant_id,
            row.issuer,
            row.client_id,
            secret,
            as_utc(row.created_at),
            as_utc(row.updated_at),
        )

    async def enabled(self, tenant_id: str) -> bool:
        """Whether the tenant has a provider (without decrypting anything)."""
        async with self._sessions() as session:
            return await session.get(TenantSso, tenant_id) is not None

    async def delete(self, tenant_id: str) -> None:
        """Remove the tenant's provider; members' links stay (for a provider set again).

        :raises NotFound: no such tenant, or no provider set.
        """
        async with self._sessions() as session, session.begin():
            row = await session.get(TenantSso, tenant_id)
            if row is None:
                raise NotFound()
            await session.delete(row)
            session.add(
                audit_record(
                    tenant_id=tenant_id,
                    actor=None,
                    action="sso.removed",
                    target=f"tenant:{tenant_id}",
                    detail={"issuer": row.issuer, "via": "admin-api"},
                    clock=self._clock,
                )
            )
        log.info("sso_removed", tenant_id=tenant_id)


def validate_id_token(
    id_token: str, keys: KeySet, *, issuer: str, client_id: str, nonce: str, now: int
) -> dict[str, Any]:
    """The claims of an ID token that passes every check of the module docstring (joserfc).

    :raises SsoFailed: ``invalid_token``, whichever check failed.
    """
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ID_TOKEN_ALGORITHMS))
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            sub={"essential": True},
            exp={"essential": True},
            iat={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        registry.validate(token.claims)
    except (JoseError, ValueError, TypeError) as exc:
        log.info("sso_id_token_refused", error=type(exc).__name__)
        raise SsoFailed("invalid_token") from exc
    claims = dict(token.claims)
    audience = claims["aud"]
    azp = claims.get("azp")
    if (isinstance(audience, list) and len(audience) > 1 and azp is None) or (
        azp is not None and azp != client_id
    ):
        log.info("sso_id_token_refused", error="azp")
        raise SsoFailed("invalid_token")
    if not isinstance(claims["sub"], str) or not claims["sub"]:
        raise SsoFailed("invalid_token")
    return claims


class SingleSignOn:
    """The authorization code flow with PKCE (see the module docstring); ``redirect_uri`` is the
    gateway's callback, the one URL to register at every provider."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        configs: SsoConfigs,
        accounts: SsoAccounts,
        console_sessions: ConsoleSessions,
        audit: AuditLog,
        idp: IdpHttp,
        cipher: FieldCipher,
        clock: Clock,
        redirect_uri: str,
    ) -> None:
        self._sessions = sessions
        self.configs = configs
        self._accounts = accounts
        self._console_sessions = console_sessions
        self._audit = audit
        self._idp = idp
        self._cipher = cipher
        self._clock = clock
        self.redirect_uri = redirect_uri
        self._providers: dict[str, tuple[float, _Provider]] = {}
        self._jwks: dict[str, tuple[float, KeySet]] = {}

    async def start(self, tenant_id: str) -> Started:
        """A new sign-in at the tenant's provider.

        :raises SsoFailed: ``not_configured`` or ``unreachable``.
        """
        config = await self.configs.get(tenant_id)
        if config is None:
            raise SsoFailed("not_configured", tenant_id)
        provider = await self._provider(config)
        state = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)
        browser = secrets.token_urlsafe(32)
        digest = _digest(state)
        now = self._clock.now()
        stored = self._cipher.encrypt(
            json.dumps({"nonce": nonce, "verifier": verifier}), aad=state_secrets_aad(tenant_id, digest)
        )
        async with self._sessions() as session, session.begin():
            await session.exec(sa.delete(SsoState).where(col(SsoState.expires_at) <= now))
            session.add(
                SsoState(
                    state_hash=digest,
                    tenant_id=tenant_id,
                    browser_hash=_digest(browser),
                    secrets_cipher=stored,
                    created_at=now,
                    expires_at=now + STATE_LIFETIME,
                )
            )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": config.client_id,
                "redirect_uri": self.redirect_uri,
                "scope": "openid",
                "state": state,
                "nonce": nonce,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if urlsplit(provider.authorization_endpoint).query else "?"
        log.info("sso_started", tenant_id=tenant_id)
        return Started(provider.authorization_endpoint + separator + query, browser)

    async def finish(
        self,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        iss: str | None,
        browser_token: str | None,
        replacing: str | None,
    ) -> StartedSession:
        """Complete the sign-in the provider sent the browser back from: a console session.

        :raises SsoFailed: see :data:`Reason`.
        """
        if not state or len(state) > 512:
            raise SsoFailed("expired")
        tenant_id, nonce, verifier = await self._claim(state, browser_token)
        if error is not None or not code:
            log.info("sso_denied_by_provider", tenant_id=tenant_id, error=(error or "no code")[:64])
            raise SsoFailed("denied", tenant_id)
        config = await self.configs.get(tenant_id)
        if config is None:
            raise SsoFailed("not_configured", tenant_id)
        if iss is not None and iss != config.issuer:
            log.info("sso_issuer_mismatch", tenant_id=tenant_id)
            raise SsoFailed("invalid_token", tenant_id)
        provider = await self._provider(config)
        id_token = await self._exchange(provider, config, code, verifier)
        claims = await self._checked(provider, config, id_token, nonce)
        member = await self._accounts.sso_member(tenant_id, claims["sub"])
        if member is None or member.disabled or member.tenant_id != tenant_id:
            log.info("sso_no_account", tenant_id=tenant_id)
            raise SsoFailed("no_account", tenant_id)
        started = await self._console_sessions.start(member, replacing=replacing)
        await self._audit.record(
            tenant_id=tenant_id,
            actor=member,
            action="staff.sso_sign_in",
            target=f"staff:{member.id}",
            detail={"issuer": config.issuer},
        )
        log.info("console_signed_in", staff_id=member.id, role=member.role.value, method="sso")
        return started

    async def _claim(self, state: str, browser_token: str | None) -> tuple[str, str, str]:
        """The state's tenant, nonce and verifier; the state is deleted whatever follows."""
        digest = _digest(state)
        async with self._sessions() as session, session.begin():
            row = await session.get(SsoState, digest)
            if row is None:
                raise SsoFailed("expired")
            gone = await session.exec(sa.delete(SsoState).where(col(SsoState.state_hash) == digest))
        if gone.rowcount != 1:
            raise SsoFailed("expired")
        tenant_id = row.tenant_id
        if self._clock.now() >= as_utc(row.expires_at):
            raise SsoFailed("expired", tenant_id)
        if not browser_token or not secrets.compare_digest(_digest(browser_token), row.browser_hash):
            log.info("sso_other_browser", tenant_id=tenant_id)
            raise SsoFailed("expired", tenant_id)
        try:
            stored = json.loads(
                self._cipher.decrypt(row.secrets_cipher, aad=state_secrets_aad(tenant_id, digest))
            )
        except (DecryptionError, ValueError) as exc:
            raise SsoFailed("expired", tenant_id) from exc
        return tenant_id, str(stored["nonce"]), str(stored["verifier"])

    async def _provider(self, config: SsoConfig) -> _Provider:
        cached = self._providers.get(config.issuer)
        if cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1]
        try:
            found = await self._idp.get_json(config.issuer.rstrip("/") + "/.well-known/openid-configuration")
        except IdpUnreachable as exc:
            log.warning("sso_discovery_failed", tenant_id=config.tenant_id, error=str(exc))
            raise SsoFailed("unreachable", config.tenant_id) from exc
        endpoints = [found.get(k) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")]
        methods = found.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        if (
            found.get("issuer") != config.issuer
            or not all(isinstance(e, str) for e in endpoints)
            or not isinstance(methods, list)
            or not {"client_secret_basic", "client_secret_post"} & set(methods)
        ):
            log.warning("sso_discovery_unusable", tenant_id=config.tenant_id)
            raise SsoFailed("unreachable", config.tenant_id)
        authorize, token, jwks = (str(e) for e in endpoints)
        try:
            for url in (authorize, token, jwks):
                self._idp.check_url(url)
        except IdpUnreachable as exc:
            log.warning("sso_discovery_refused", tenant_id=config.tenant_id, error=str(exc))
            raise SsoFailed("unreachable", config.tenant_id) from exc
        provider = _Provider(config.issuer, authorize, token, jwks, "client_secret_basic" in methods)
        self._providers[config.issuer] = (time.monotonic(), provider)
        return provider

    async def _exchange(self, provider: _Provider, config: SsoConfig, code: str, verifier: str) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        }
        basic = None
        if provider.basic_auth:
            basic = (quote(config.client_id, safe=""), quote(config.client_secret, safe=""))
        else:
            form |= {"client_id": config.client_id, "client_secret": config.client_secret}
        try:
            status, answer = await self._idp.post_form(provider.token_endpoint, form, basic=basic)
        except IdpUnreachable as exc:
            log.warning("sso_token_call_failed", tenant_id=config.tenant_id, error=str(exc))
            raise SsoFailed("unreachable", config.tenant_id) from exc
        id_token = answer.get("id_token")
        if status != 200 or not isinstance(id_token, str):
            log.info("sso_code_refused", tenant_id=config.tenant_id, status=status)
            raise SsoFailed("denied", config.tenant_id)
        return id_token

    async def _checked(
        self, provider: _Provider, config: SsoConfig, id_token: str, nonce: str
    ) -> dict[str, Any]:
        now = int(self._clock.now().timestamp())
        for fresh in (False, True):
            keys = await self._keys(provider, config.tenant_id, fresh=fresh)
            try:
                return validate_id_token(
                    id_token, keys, issuer=config.issuer, client_id=config.client_id, nonce=nonce, now=now
                )
            except SsoFailed as exc:
                if fresh or not _signature_problem(exc):
                    raise SsoFailed("invalid_token", config.tenant_id) from exc
        raise SsoFailed("invalid_token", config.tenant_id)  # pragma: no cover

    async def _keys(self, provider: _Provider, tenant_id: str, *, fresh: bool) -> KeySet:
        cached = self._jwks.get(provider.jwks_uri)
        if not fresh and cached is not None and time.monotonic() - cached[0] < _CACHE_SECONDS:
            return cached[1]
        try:
            keys = KeySet.import_key_set(await self._idp.get_json(provider.jwks_uri))  # type: ignore[arg-type]
        except IdpUnreachable as exc:
            log.warning("sso_jwks_failed", tenant_id=tenant_id, error=str(exc))
            raise SsoFailed("unreachable", tenant_id) from exc
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            log.warning("sso_jwks_unusable", tenant_id=tenant_id, error=type(exc).__name__)
            raise SsoFailed("unreachable", tenant_id) from exc
        self._jwks[provider.jwks_uri] = (time.monotonic(), keys)
        return keys


def _signature_problem(exc: SsoFailed) -> bool:
    """Whether the ID token failed on its key or signature (a rotated key: fetch the JWKS again)."""
    return isinstance(exc.__cause__, BadSignatureError | InvalidKeyIdError | MissingKeyError | ValueError)
