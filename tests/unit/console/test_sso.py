"""Console single sign-on (gateway.console.sso) on a real database (SQLite and PostgreSQL) with an
in-process identity provider: ID tokens refused on a wrong audience, nonce, issuer, signing key or
algorithm, or when expired; states single use, short-lived and bound to the browser; unlinked and
disabled members refused; another tenant's member never found; the PKCE challenge; every failure
reason has words on the sign-in page."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, get_args
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.console.idp_http import IdpHttp, IdpUnreachable
from gateway.console.sessions import ConsoleSessions, Timeouts
from gateway.console.sso import (
    STATE_LIFETIME,
    Reason,
    SingleSignOn,
    SsoConfigs,
    SsoFailed,
    pkce_challenge,
    validate_id_token,
)
from gateway.console.sso_pages import SSO_ERRORS
from gateway.crypto import FieldCipher, Keyring, generate_keyring_spec
from gateway.db import create_engine, migrate, session_factory
from gateway.errors import InvalidArgument, NotFound
from gateway.staff import StaffMember
from gateway.staff.audit import StaffAudit
from tests.clocks import ManualClock
from tests.unit.console.fakes import FakeAccounts, add_tenant

ISSUER = "https://idp.bank.example/realms/staff"
CLIENT = "carrier-gateway"
NOW = 1_800_000_000
RSA = RSAKey.generate_key(2048, parameters={"kid": "k1"})
KEYS = KeySet([RSA])


def _token(key: Any = RSA, alg: str = "RS256", **overrides: Any) -> str:
    claims = {"iss": ISSUER, "aud": CLIENT, "sub": "employee-1", "iat": NOW, "exp": NOW + 300, "nonce": "n-1"}
    claims |= overrides
    claims = {k: v for k, v in claims.items() if v is not None}
    header = {"alg": alg, **({"kid": key.kid} if key.kid else {})}
    return jwt.encode(header, claims, key, algorithms=[alg])


def _check(token: str, *, nonce: str = "n-1", now: int = NOW, keys: KeySet = KEYS) -> dict[str, Any]:
    return validate_id_token(token, keys, issuer=ISSUER, client_id=CLIENT, nonce=nonce, now=now)


def test_a_good_id_token_passes() -> None:
    """Signed by the provider's key, for this client, with the nonce and in date: its claims."""
    assert _check(_token())["sub"] == "employee-1"
    assert _check(_token(aud=[CLIENT, "other"], azp=CLIENT))["sub"] == "employee-1"


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "another-client"},
        {"aud": ["another-client"]},
        {"aud": [CLIENT, "other"]},
        {"aud": CLIENT, "azp": "other"},
        {"iss": "https://evil.example/realms/staff"},
        {"iss": None},
        {"nonce": "n-2"},
        {"nonce": None},
        {"exp": NOW - 61},
        {"exp": None},
        {"iat": NOW + 3600},
        {"sub": None},
        {"sub": ""},
    ],
    ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()),
)
def test_id_tokens_failing_a_claim_check_are_refused(overrides: dict[str, Any]) -> None:
    """Wrong or missing audience (several without ``azp``, or another ``azp``), issuer, nonce,
    expiry, issued in the future, no subject: each is ``invalid_token``."""
    with pytest.raises(SsoFailed) as failed:
        _check(_token(**overrides))
    assert failed.value.reason == "invalid_token"


def test_id_tokens_signed_otherwise_are_refused() -> None:
    """Another RSA key, an EC key not in the set, HS256 with any secret, and ``none`` are refused;
    a tampered payload fails the signature."""
    other = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    ec = ECKey.generate_key("P-256", parameters={"kid": "e1"})
    hmac = OctKey.generate_key(256, parameters={"kid": "k1"})
    good = _token()
    header, payload, signature = good.split(".")
    forged_payload = jwt.encode({"alg": "RS256"}, {"sub": "admin"}, other).split(".")[1]
    for token in (
        _token(other),
        _token(ec, "ES256"),
        _token(hmac, "HS256"),
        f"{header}.{forged_payload}.{signature}",
        "eyJhbGciOiJub25lIn0." + payload + ".",
    ):
        with pytest.raises(SsoFailed):
            _check(token)


def test_expiry_allows_one_minute_of_clock_skew() -> None:
    """``exp`` 60 s past still passes (leeway), 61 s past does not."""
    assert _check(_token(exp=NOW - 59))
    with pytest.raises(SsoFailed):
        _check(_token(exp=NOW - 61))


def test_pkce_s256_is_rfc_7636() -> None:
    """The RFC 7636 appendix B example verifier gives its challenge."""
    assert pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == (
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_every_failure_reason_has_words_chinese_first() -> None:
    """The sign-in page has a Chinese and an English sentence for each :data:`Reason`."""
    assert set(SSO_ERRORS) == set(get_args(Reason))
    for zh, en in SSO_ERRORS.values():
        assert any("\u4e00" <= c <= "\u9fff" for c in zh) and en.isascii()


@dataclass
class FakeIdp(IdpHttp):
    """The provider in process: discovery, JWKS and a token endpoint minting what a test asks."""

    claims: dict[str, Any] = field(default_factory=dict)
    key: RSAKey = field(default_factory=lambda: RSA)
    signer: RSAKey | None = None
    token_calls: list[Mapping[str, str]] = field(default_factory=list)
    authorized: dict[str, dict[str, str]] = field(default_factory=dict)
    down: bool = False

    def __post_init__(self) -> None:
        super().__init__(allow_private=False)

    async def get_json(self, url: str) -> dict[str, Any]:
        if self.down:
            raise IdpUnreachable("GET failed: ClientConnectorError")
        if url == ISSUER + "/.well-known/openid-configuration":
            return {
                "issuer": ISSUER,
                "authorization_endpoint": ISSUER + "/authorize",
                "token_endpoint": ISSUER + "/token",
                "jwks_uri": ISSUER + "/jwks",
            }
        if url == ISSUER + "/jwks":
            return dict(KeySet([self.key]).as_dict(private=False))
        raise IdpUnreachable("GET answered 404")

    async def post_form(
        self, url: str, form: Mapping[str, str], *, basic: tuple[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        self.token_calls.append(dict(form))
        request = self.authorized[form["code"]]
        if (
            basic != (CLIENT, "secret%2F%2B%201")
            or pkce_challenge(form["code_verifier"]) != request["code_challenge"]
        ):
            return 400, {"error": "invalid_grant"}
        claims = {
            "iss": ISSUER,
            "aud": CLIENT,
            "sub": request["sub"],
            "iat": NOW,
            "exp": NOW + 300,
            "nonce": request["nonce"],
        } | self.claims
        signer = self.signer or self.key
        return 200, {"id_token": jwt.encode({"alg": "RS256", "kid": signer.kid}, claims, signer)}

    def consent(self, authorize_url: str, sub: str) -> tuple[str, str]:
        """The employee ``sub`` signs in: the callback's ``state`` and ``code``."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        code = f"code-{len(self.authorized)}"
        self.authorized[code] = {**query, "sub": sub}
        return query["state"], code


@dataclass
class Linked:
    """Members linked by (tenant, subject), as the staff accounts keep them."""

    accounts: FakeAccounts
    links: dict[tuple[str, str], str] = field(default_factory=dict)

    async def sso_member(self, tenant_id: str, subject: str) -> StaffMember | None:
        staff_id = self.links.get((tenant_id, subject))
        return await self.accounts.get(staff_id) if staff_id else None


@dataclass
class Env:
    sso: SingleSignOn
    idp: FakeIdp
    clock: ManualClock
    accounts: FakeAccounts
    linked: Linked
    tenant: str
    other_tenant: str
    member: StaffMember
    engine: AsyncEngine

    async def sign_in(self, sub: str = "employee-1", tenant: str | None = None) -> Any:
        started = await self.sso.start(tenant or self.tenant)
        state, code = self.idp.consent(started.authorize_url, sub)
        return await self.sso.finish(
            state=state,
            code=code,
            error=None,
            iss=ISSUER,
            browser_token=started.browser_token,
            replacing=None,
        )


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[Env]:
    """Two tenants at the same provider; a teller of the first linked to ``employee-1``."""
    engine = create_engine(database_url)
    await migrate(engine)
    tenant, other = await add_tenant(engine), await add_tenant(engine)
    clock = ManualClock(datetime.fromtimestamp(NOW, UTC))
    cipher = FieldCipher(Keyring.parse(generate_keyring_spec()))
    sessions = session_factory(engine)
    accounts = FakeAccounts()
    member = accounts.add(tenant, "li.na@pingan", "correct horse 9")
    linked = Linked(accounts, {(tenant, "employee-1"): member.id})
    idp = FakeIdp()
    configs = SsoConfigs(sessions, cipher=cipher, idp=idp, clock=clock)
    for tenant_id in (tenant, other):
        await configs.put(tenant_id, issuer=ISSUER, client_id=CLIENT, client_secret="secret/+ 1")
    console_sessions = ConsoleSessions(
        sessions,
        accounts,
        cipher,
        clock,
        timeouts=Timeouts(idle=timedelta(minutes=15), lifetime=timedelta(hours=12), warning=timedelta(0)),
    )
    sso = SingleSignOn(
        sessions,
        configs=configs,
        accounts=linked,
        console_sessions=console_sessions,
        audit=StaffAudit(sessions, clock=clock),
        idp=idp,
        cipher=cipher,
        clock=clock,
        redirect_uri="https://gw.example/console/sso/callback",
    )
    try:
        yield Env(sso, idp, clock, accounts, linked, tenant, other, member, engine)
    finally:
        await engine.dispose()


async def _reason(env: Env, **finish: Any) -> Reason:
    with pytest.raises(SsoFailed) as failed:
        await env.sso.finish(**finish)
    return failed.value.reason


async def test_a_linked_member_gets_a_console_session(env: Env) -> None:
    """The provider's ID token for the linked subject starts a session of that member; the token
    call carried the PKCE verifier and the client's credentials (form-encoded in Basic)."""
    started = await env.sign_in()
    assert started.session.member.id == env.member.id
    assert started.token.startswith("gcs_")
    assert env.idp.token_calls[-1]["redirect_uri"] == "https://gw.example/console/sso/callback"
    entries = await StaffAudit(session_factory(env.engine), clock=env.clock).entries(env.tenant)
    assert entries[0].action == "staff.sso_sign_in" and entries[0].staff_id == env.member.id


async def test_a_state_is_single_use(env: Env) -> None:
    """The same state and code a second time: ``expired``; the token endpoint is not called again."""
    started = await env.sso.start(env.tenant)
    state, code = env.idp.consent(started.authorize_url, "employee-1")
    finish = {
        "state": state,
        "code": code,
        "error": None,
        "iss": ISSUER,
        "browser_token": started.browser_token,
    }
    await env.sso.finish(**finish, replacing=None)
    calls = len(env.idp.token_calls)
    assert await _reason(env, **finish, replacing=None) == "expired"
    assert len(env.idp.token_calls) == calls


async def test_a_state_expires_and_belongs_to_its_browser(env: Env) -> None:
    """Past ten minutes a state is ``expired``; with another browser's binding (or none) too, and
    the state is spent; an unknown state likewise."""
    started = await env.sso.start(env.tenant)
    state, code = env.idp.consent(started.authorize_url, "employee-1")
    env.clock.advance(STATE_LIFETIME.total_seconds())
    base = {"code": code, "error": None, "iss": ISSUER, "replacing": None}
    assert await _reason(env, state=state, browser_token=started.browser_token, **base) == "expired"
    for browser in ("someone-else", None):
        started = await env.sso.start(env.tenant)
        state, code = env.idp.consent(started.authorize_url, "employee-1")
        assert await _reason(env, state=state, browser_token=browser, **base | {"code": code}) == "expired"
        again = {"state": state, "browser_token": started.browser_token}
        assert await _reason(env, **again, **base | {"code": code}) == "expired"
    assert await _reason(env, state="never-issued", browser_token="x", **base) == "expired"
    assert await _reason(env, state=None, browser_token="x", **base) == "expired"


async def test_wrong_nonce_issuer_or_audience_from_the_provider_is_refused(env: Env) -> None:
    """An ID token whose nonce is not the state's, whose issuer or audience is not the tenant's
    provider and client, or that is expired: ``invalid_token`` and no session; so is a callback
    whose ``iss`` parameter names another issuer (mix-up)."""
    for claims in (
        {"nonce": "replayed"},
        {"iss": "https://other.example"},
        {"aud": "other"},
        {"exp": NOW - 120},
    ):
        env.idp.claims = claims
        with pytest.raises(SsoFailed) as failed:
            await env.sign_in()
        assert failed.value.reason == "invalid_token" and failed.value.tenant_id == env.tenant
    env.idp.claims = {}
    started = await env.sso.start(env.tenant)
    state, code = env.idp.consent(started.authorize_url, "employee-1")
    reason = await _reason(
        env,
        state=state,
        code=code,
        error=None,
        iss="https://other.example",
        browser_token=started.browser_token,
        replacing=None,
    )
    assert reason == "invalid_token"


async def test_unlinked_disabled_and_other_tenants_members_are_refused(env: Env) -> None:
    """A subject nobody is linked to, a disabled linked member, and the first tenant's subject
    signing in at the second tenant: ``no_account``, each."""
    with pytest.raises(SsoFailed) as failed:
        await env.sign_in("employee-2")
    assert failed.value.reason == "no_account"
    with pytest.raises(SsoFailed) as failed:
        await env.sign_in("employee-1", tenant=env.other_tenant)
    assert failed.value.reason == "no_account" and failed.value.tenant_id == env.other_tenant
    env.accounts.disable(env.member.id)
    with pytest.raises(SsoFailed) as failed:
        await env.sign_in()
    assert failed.value.reason == "no_account"


async def test_a_member_of_another_tenant_behind_a_link_is_refused(env: Env) -> None:
    """Even if a lookup answered another tenant's member, the sign-in refuses it."""
    env.linked.links[(env.other_tenant, "employee-1")] = env.member.id
    with pytest.raises(SsoFailed) as failed:
        await env.sign_in("employee-1", tenant=env.other_tenant)
    assert failed.value.reason == "no_account"


async def test_provider_denial_and_outage_say_so(env: Env) -> None:
    """``error=access_denied`` at the callback is ``denied`` (the state spent); an unreachable
    provider at start is ``unreachable``; a tenant without a provider is ``not_configured``."""
    started = await env.sso.start(env.tenant)
    state, _ = env.idp.consent(started.authorize_url, "employee-1")
    reason = await _reason(
        env,
        state=state,
        code=None,
        error="access_denied",
        iss=None,
        browser_token=started.browser_token,
        replacing=None,
    )
    assert reason == "denied"
    await env.sso.configs.delete(env.other_tenant)
    with pytest.raises(SsoFailed) as failed:
        await env.sso.start(env.other_tenant)
    assert failed.value.reason == "not_configured"
    env.sso._providers.clear()
    env.idp.down = True
    with pytest.raises(SsoFailed) as failed:
        await env.sso.start(env.tenant)
    assert failed.value.reason == "unreachable"


async def test_the_authorize_url_carries_pkce_state_and_nonce(env: Env) -> None:
    """Code flow, scope openid, the registered redirect URI, a fresh state and nonce per sign-in,
    and an S256 challenge (the verifier stays on the server)."""
    first = await env.sso.start(env.tenant)
    second = await env.sso.start(env.tenant)
    q1, q2 = (parse_qs(urlsplit(s.authorize_url).query) for s in (first, second))
    assert first.authorize_url.startswith(ISSUER + "/authorize?")
    assert q1["response_type"] == ["code"] and q1["scope"] == ["openid"] and q1["client_id"] == [CLIENT]
    assert q1["code_challenge_method"] == ["S256"] and len(q1["code_challenge"][0]) == 43
    assert "code_verifier" not in q1
    for name in ("state", "nonce", "code_challenge"):
        assert q1[name] != q2[name]
    assert first.browser_token != second.browser_token


async def test_the_issuer_must_be_a_public_https_url(env: Env) -> None:
    """Without private addresses allowed, http, loopback, private and ``.internal`` issuers are
    refused with 400, and one with a query; an unknown tenant is 404."""
    for issuer in (
        "http://idp.bank.example",
        "https://127.0.0.1/realms/x",
        "https://10.1.2.3",
        "https://sso.bank.internal",
        "https://idp.bank.example/?x=1",
    ):
        with pytest.raises(InvalidArgument):
            await env.sso.configs.put(env.tenant, issuer=issuer, client_id=CLIENT, client_secret="s")
    with pytest.raises(NotFound):
        await env.sso.configs.put("no-such-tenant", issuer=ISSUER, client_id=CLIENT, client_secret="s")
    stored = await env.sso.configs.get(env.tenant)
    assert stored is not None and replace(stored, client_secret="-").issuer == ISSUER


async def test_a_member_with_totp_signs_in_without_a_code(env: Env) -> None:
    """Single sign-on asks no TOTP code: the provider owns the factors."""
    member = env.accounts.add(env.tenant, "zhao.lei@pingan", "correct horse 9", totp="123456")
    env.linked.links[(env.tenant, "employee-7")] = member.id
    started = await env.sign_in("employee-7")
    assert started.session.member.id == member.id and member.totp_enabled


async def test_a_rotated_signing_key_is_fetched_once_more(env: Env) -> None:
    """After the provider rotates its key, a token with the new ``kid`` fetches the JWKS again and
    passes; a token signed by a key the provider never published still fails."""
    await env.sign_in()
    env.idp.key = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    started = await env.sign_in()
    assert started.session.member.id == env.member.id

    env.idp.signer = RSAKey.generate_key(2048, parameters={"kid": "k2"})
    with pytest.raises(SsoFailed) as failed:
        await env.sign_in()
    assert failed.value.reason == "invalid_token"


async def test_a_discovery_document_of_another_issuer_is_refused(env: Env) -> None:
    """Discovery must name the configured issuer exactly (OIDC Discovery 4.3), else ``unreachable``."""
    await env.sso.configs.put(env.tenant, issuer=ISSUER + "/", client_id=CLIENT, client_secret="secret/+ 1")
    with pytest.raises(SsoFailed) as failed:
        await env.sso.start(env.tenant)
    assert failed.value.reason == "unreachable"
