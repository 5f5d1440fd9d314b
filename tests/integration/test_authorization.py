"""The authorization server over real sockets: code flow with PKCE (driven by authlib, an independent
OIDC client), CIBA and JWT-bearer, against fake operators served over HTTP (``tests/unit/oauth/fakes.py``).

A phone's browser is an aiohttp client that sends the ``X-Forwarded-For`` of its operator's cellular
range (the gateway's trusted proxy is loopback) and follows redirects up to the client's redirect URI.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from aiohttp.test_utils import TestServer
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from gateway.app import create_app
from gateway.settings import OPERATORS, Settings
from tests.leaks import SENSITIVE
from tests.ports import bound_socket, hand_over
from tests.stack import PREFIXES, SESSION_DATA_KEYS, SESSION_INDEX_KEYS, SettableClock, TenantCreds
from tests.unit.oauth.fakes import FakeNetworkOperator, cellular_ip, operator_app, run_device

with warnings.catch_warnings():
    # authlib registers an "always" filter for its own deprecations on import; it deprecates plain
    # httpx (for httpx2), which is what this test client runs on, so that one warning is silenced.
    import authlib.deprecate

    warnings.filterwarnings(
        "ignore", "The httpx module is deprecated", authlib.deprecate.AuthlibDeprecationWarning
    )
    from authlib.integrations.httpx_client import AsyncOAuth2Client

pytestmark = pytest.mark.integration
REDIRECT = "https://bank.test/callback"
PURPOSE = "dpv:FraudPreventionAndDetection"
CIBA = "urn:openid:params:grant-type:ciba"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
VERIFIER = secrets.token_urlsafe(40)
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


@dataclass
class Signing:
    """A client's EC key and its public JWKS."""

    key: ec.EllipticCurvePrivateKey
    jwks: dict[str, Any]

    @classmethod
    def generate(cls) -> Signing:
        """A fresh P-256 key with kid ``k1``."""
        key = ec.generate_private_key(ec.SECP256R1())
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        return cls(key, {"keys": [{**public, "kid": "k1", "alg": "ES256", "use": "sig"}]})

    def sign(self, claims: dict[str, Any]) -> str:
        """An ES256 JWT with kid ``k1``."""
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": "k1"})


@dataclass
class AuthStack:
    """A gateway with fake operators on loopback sockets."""

    url: str
    settings: Settings
    clock: SettableClock
    http: httpx.AsyncClient
    operators: dict[str, FakeNetworkOperator]
    devices: int = 0

    async def tenant(self, scopes: list[str], jwks: dict[str, Any] | None = None) -> TenantCreds:
        """A tenant registered through the admin API with :data:`REDIRECT`."""
        assert self.settings.admin_token is not None
        body: dict[str, Any] = {
            "name": f"t-{secrets.token_hex(3)}",
            "scopes": scopes,
            "redirect_uris": [REDIRECT],
        }
        if jwks is not None:
            body["jwks"] = jwks
        resp = await self.http.post(
            f"{self.url}/admin/tenants",
            json=body,
            headers={"Authorization": f"Bearer {self.settings.admin_token.get_secret_value()}"},
        )
        assert resp.status_code == 201, resp.text
        creds = TenantCreds(**resp.json())
        SENSITIVE.add(creds.client_secret)
        return creds

    def phone(self, operator: str = "cmcc") -> tuple[str, str]:
        """A subscriber on ``operator``'s data network: (number, device IP)."""
        number = f"+86{PREFIXES[operator]}{secrets.randbelow(10**8):08d}"
        SENSITIVE.update({number, number[3:]})
        self.devices += 1
        ip = cellular_ip(operator, self.devices)
        self.operators[operator].cellular[ip] = number
        return number, ip

    async def token(self, data: dict[str, str], auth: tuple[str, str] | None = None) -> httpx.Response:
        """POST the token endpoint."""
        return await self.http.post(
            f"{self.url}/oauth2/token", data=data, auth=auth or httpx.USE_CLIENT_DEFAULT
        )


@asynccontextmanager
async def open_auth_stack(database_url: str) -> AsyncIterator[AuthStack]:
    """Fake operators and a gateway whose public URL is its real loopback address."""
    operators: dict[str, FakeNetworkOperator] = {}
    operator_server = TestServer(operator_app(operators), host="127.0.0.1")
    await operator_server.start_server()
    base = str(operator_server.make_url("")).rstrip("/")
    operators.update({op: FakeNetworkOperator(op, base_url=base) for op in OPERATORS})
    with bound_socket() as gateway_socket:
        settings = Settings(
            database_url=database_url,
            admin_token=secrets.token_urlsafe(24),
            data_keys=SESSION_DATA_KEYS,
            index_keys=SESSION_INDEX_KEYS,
            public_url=f"http://127.0.0.1:{gateway_socket.getsockname()[1]}",
            log_level="debug",
        )
        clock = SettableClock()
        gateway = TestServer(
            create_app(settings, clock=clock, exchangers=operators),
            host="127.0.0.1",
            socket_factory=hand_over(gateway_socket),
        )
        try:
            await gateway.start_server()
            async with httpx.AsyncClient(timeout=10.0) as http:
                yield AuthStack(settings.issuer, settings, clock, http, operators)
        finally:
            await gateway.close()
            await operator_server.close()


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[AuthStack]:
    """On SQLite and PostgreSQL."""
    async with open_auth_stack(database_url) as running:
        yield running


@pytest.fixture
async def sqlite_stack(sqlite_url: str) -> AsyncIterator[AuthStack]:
    """On SQLite only."""
    async with open_auth_stack(sqlite_url) as running:
        yield running


def _query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def _authorize(stack: AuthStack, creds: TenantCreds, ip: str | None, **params: str) -> dict[str, str]:
    """Run an authorization request (PKCE: :data:`CHALLENGE`) from a device; answer the redirect's query."""
    query = {
        "response_type": "code",
        "client_id": creds.client_id,
        "redirect_uri": REDIRECT,
        "scope": f"openid {PURPOSE} number-verification:verify",
        "state": "s-1",
        "nonce": "n-1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
        **params,
    }
    url = str(httpx.URL(f"{stack.url}/oauth2/authorize", params=query))
    return _query(await run_device(url, until=REDIRECT, device_ip=ip))


def _error(resp: httpx.Response, status: int, error: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"] == error


async def test_authlib_client_completes_the_code_flow_and_validates_the_id_token(stack: AuthStack) -> None:
    """authlib's OAuth 2.0 client (PKCE S256, client_secret_basic) gets tokens; the ID token (RS256,
    the registration default) verifies against the published JWKS with joserfc (iss, aud, nonce,
    pairwise sub); the access token passes Number Verification for the device's number."""
    creds = await stack.tenant(["number-verification:verify", PURPOSE])
    number, ip = stack.phone("cucc")
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(12)
    async with AsyncOAuth2Client(
        creds.client_id,
        creds.client_secret,
        scope=f"openid {PURPOSE} number-verification:verify",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    ) as client:
        url, state = client.create_authorization_url(
            f"{stack.url}/oauth2/authorize", code_verifier=verifier, nonce=nonce, prompt="none"
        )
        location = await run_device(url, until=REDIRECT, device_ip=ip)
        assert _query(location)["state"] == state and _query(location)["iss"] == stack.url
        token = await client.fetch_token(
            f"{stack.url}/oauth2/token", authorization_response=location, code_verifier=verifier
        )
    SENSITIVE.update({token["access_token"], token["id_token"]})
    assert token["token_type"] == "Bearer" and token["expires_in"] <= 300 and "refresh_token" not in token
    keys = KeySet.import_key_set((await stack.http.get(f"{stack.url}/oauth2/jwks")).json())
    decoded = jose_jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    assert decoded.header["typ"] == "JWT" and decoded.header["kid"] in {
        k["kid"] for k in keys.as_dict()["keys"]
    }
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": stack.url},
        aud={"essential": True, "value": creds.client_id},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        auth_time={"essential": True},
    ).validate(decoded.claims)
    assert decoded.claims["amr"] == ["network"] and number not in json.dumps(decoded.claims)
    resp = await stack.http.post(
        f"{stack.url}/number-verification/v2/verify",
        json={"phoneNumber": number},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"devicePhoneNumberVerified": True}


async def test_discovery_describes_the_authorization_server(sqlite_stack: AuthStack) -> None:
    """Discovery lists the endpoints, the four grants (no refresh), S256 only, CIBA poll, pairwise,
    ES256 and RS256 ID tokens."""
    doc = (await sqlite_stack.http.get(f"{sqlite_stack.url}/.well-known/openid-configuration")).json()
    assert doc["authorization_endpoint"] == f"{sqlite_stack.url}/oauth2/authorize"
    assert doc["backchannel_authentication_endpoint"] == f"{sqlite_stack.url}/oauth2/bc-authorize"
    assert set(doc["grant_types_supported"]) == {"client_credentials", "authorization_code", CIBA, JWT_BEARER}
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["backchannel_token_delivery_modes_supported"] == ["poll"]
    assert doc["subject_types_supported"] == ["pairwise"]
    assert doc["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "private_key_jwt"}
    assert "offline_access" not in doc["scopes_supported"]


async def test_code_used_twice_fails_and_revokes_the_first_token(stack: AuthStack) -> None:
    """The second redemption is invalid_grant, and the token of the first is refused from then on."""
    creds = await stack.tenant(["number-verification:device-phone-number:read", PURPOSE])
    _, ip = stack.phone()
    code = (
        await _authorize(
            stack, creds, ip, scope=f"openid {PURPOSE} number-verification:device-phone-number:read"
        )
    )["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
    }
    first = await stack.token(form, (creds.client_id, creds.client_secret))
    assert first.status_code == 200, first.text
    access = first.json()["access_token"]
    SENSITIVE.add(access)
    _error(await stack.token(form, (creds.client_id, creds.client_secret)), 400, "invalid_grant")
    resp = await stack.http.get(
        f"{stack.url}/number-verification/v2/device-phone-number",
        headers={"Authorization": f"Bearer {access}"},
    )
    assert resp.status_code == 401 and resp.json()["code"] == "UNAUTHENTICATED"


async def test_redirect_uri_differing_by_one_character_is_not_redirected(sqlite_stack: AuthStack) -> None:
    """An unregistered redirect URI is answered directly with the contract's 400 body, never a redirect."""
    creds = await sqlite_stack.tenant(["number-verification:verify", PURPOSE])
    resp = await sqlite_stack.http.get(
        f"{sqlite_stack.url}/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": creds.client_id,
            "redirect_uri": REDIRECT[:-1] + "X",
            "scope": "openid",
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        },
        headers={"X-Forwarded-For": cellular_ip("cmcc")},
    )
    assert resp.status_code == 400 and "location" not in resp.headers
    assert resp.json()["status"] == 400 and resp.json()["code"] == "INVALID_ARGUMENT"


async def test_errors_after_client_validation_are_redirected(sqlite_stack: AuthStack) -> None:
    """A plain PKCE challenge and an off-network device come back to the client's redirect URI."""
    creds = await sqlite_stack.tenant(["number-verification:verify", PURPOSE])
    _, ip = sqlite_stack.phone()
    answer = await _authorize(sqlite_stack, creds, ip, code_challenge_method="plain")
    assert answer["error"] == "invalid_request" and answer["state"] == "s-1"
    answer = await _authorize(sqlite_stack, creds, "192.0.2.10")
    assert answer["error"] == "access_denied" and answer["iss"] == sqlite_stack.url


async def test_missing_and_wrong_pkce_verifier(sqlite_stack: AuthStack) -> None:
    """Without code_verifier: invalid_request; with a wrong one: invalid_grant."""
    creds = await sqlite_stack.tenant(["number-verification:verify", PURPOSE])
    _, ip = sqlite_stack.phone("ctcc")
    code = (await _authorize(sqlite_stack, creds, ip))["code"]
    auth = (creds.client_id, creds.client_secret)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    _error(await sqlite_stack.token(form, auth), 400, "invalid_request")
    _error(await sqlite_stack.token({**form, "code_verifier": "w" * 43}, auth), 400, "invalid_grant")


async def test_another_tenants_code_and_auth_req_id_are_invalid_grant(sqlite_stack: AuthStack) -> None:
    """Tenant B can redeem neither tenant A's authorization code nor its auth_req_id."""
    a = await sqlite_stack.tenant(["number-verification:verify", "sim-swap:check", PURPOSE])
    b = await sqlite_stack.tenant(["number-verification:verify", "sim-swap:check", PURPOSE])
    number, ip = sqlite_stack.phone()
    code = (await _authorize(sqlite_stack, a, ip))["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
    }
    _error(await sqlite_stack.token(form, (b.client_id, b.client_secret)), 400, "invalid_grant")
    started = await sqlite_stack.http.post(
        f"{sqlite_stack.url}/oauth2/bc-authorize",
        data={"scope": f"openid {PURPOSE} sim-swap:check", "login_hint": f"tel:{number}"},
        auth=(a.client_id, a.client_secret),
    )
    assert started.status_code == 200, started.text
    poll = {"grant_type": CIBA, "auth_req_id": started.json()["auth_req_id"]}
    _error(await sqlite_stack.token(poll, (b.client_id, b.client_secret)), 400, "invalid_grant")
    assert (await sqlite_stack.token(poll, (a.client_id, a.client_secret))).status_code == 200


async def test_replayed_private_key_jwt_assertion_is_refused(sqlite_stack: AuthStack) -> None:
    """A client assertion accepted once (code redemption) is invalid_client when presented again."""
    signing = Signing.generate()
    creds = await sqlite_stack.tenant(["number-verification:verify", PURPOSE], jwks=signing.jwks)
    _, ip = sqlite_stack.phone()
    now = int(time.time())
    assertion = signing.sign(
        {
            "iss": creds.client_id,
            "sub": creds.client_id,
            "aud": f"{sqlite_stack.url}/oauth2/token",
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(12),
        }
    )
    auth = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    for _ in range(2):
        code = (await _authorize(sqlite_stack, creds, ip))["code"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": VERIFIER,
        }
        resp = await sqlite_stack.token({**form, **auth})
    _error(resp, 401, "invalid_client")


async def test_jwt_bearer_grant_and_replayed_assertion(stack: AuthStack) -> None:
    """A signed assertion with sub tel:+… yields a 3-legged token; the same one again is invalid_grant."""
    signing = Signing.generate()
    creds = await stack.tenant(["sim-swap:check", PURPOSE], jwks=signing.jwks)
    number, _ = stack.phone("cmcc")
    now = int(stack.clock.now().timestamp())
    assertion = signing.sign(
        {
            "iss": creds.client_id,
            "sub": f"tel:{number}",
            "aud": f"{stack.url}/oauth2/token",
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(12),
            "scope": f"{PURPOSE} sim-swap:check",
        }
    )
    form = {"grant_type": JWT_BEARER, "assertion": assertion}
    first = await stack.token(form)
    assert first.status_code == 200, first.text
    assert first.json()["scope"] == f"{PURPOSE} sim-swap:check" and "id_token" not in first.json()
    _error(await stack.token(form), 400, "invalid_grant")
    _error(await stack.token({**form, "scope": "sim-swap:check"}), 400, "invalid_request")


async def test_ciba_pending_slow_down_success_and_expiry(stack: AuthStack) -> None:
    """bc-authorize with an operator token: pending while the operator works, slow_down when polled
    too fast, tokens once authenticated; a second request left alone expires."""
    creds = await stack.tenant(["number-verification:verify", PURPOSE])
    auth = (creds.client_id, creds.client_secret)
    fake = stack.operators["cucc"]
    fake.login_gate = asyncio.Event()
    sdk_token = fake.one_tap.issue("+8618600186003")
    SENSITIVE.add(sdk_token)
    started = await stack.http.post(
        f"{stack.url}/oauth2/bc-authorize",
        data={
            "scope": f"openid {PURPOSE} number-verification:verify",
            "login_hint": f"operatortoken:{sdk_token}",
        },
        auth=auth,
    )
    assert started.status_code == 200, started.text
    assert started.headers["cache-control"] == "no-store"
    body = started.json()
    assert set(body) == {"auth_req_id", "expires_in", "interval"} and body["interval"] == 5
    poll = {"grant_type": CIBA, "auth_req_id": body["auth_req_id"]}
    _error(await stack.token(poll, auth), 400, "authorization_pending")
    _error(await stack.token(poll, auth), 400, "slow_down")
    fake.login_gate.set()
    for _ in range(50):
        stack.clock.advance(5)
        resp = await stack.token(poll, auth)
        if resp.status_code == 200 or resp.json()["error"] != "authorization_pending":
            break
        await asyncio.sleep(0.02)
    assert resp.status_code == 200, resp.text
    assert {"access_token", "id_token"} <= set(resp.json()) and resp.json()["expires_in"] <= 300
    again = await stack.http.post(
        f"{stack.url}/oauth2/bc-authorize",
        data={"scope": f"openid {PURPOSE} number-verification:verify", "login_hint": "tel:+8618600186004"},
        auth=auth,
    )
    stack.clock.advance(again.json()["expires_in"] + 1)
    _error(
        await stack.token({"grant_type": CIBA, "auth_req_id": again.json()["auth_req_id"]}, auth),
        400,
        "expired_token",
    )


async def test_bc_authorize_requires_client_authentication(sqlite_stack: AuthStack) -> None:
    """Without client credentials bc-authorize is 401 invalid_client."""
    resp = await sqlite_stack.http.post(
        f"{sqlite_stack.url}/oauth2/bc-authorize",
        data={"scope": "openid", "login_hint": "tel:+8613800138000"},
    )
    assert resp.status_code == 401 and resp.json()["error"] == "invalid_client"


async def test_authorize_by_form_post_and_unknown_callback_state(sqlite_stack: AuthStack) -> None:
    """The authorization request may be form-posted (OIDC Core §3.1.2.1); redirects echo x-correlator;
    an operator callback with an unknown state is a direct 400 in the contract's error shape."""
    creds = await sqlite_stack.tenant(["number-verification:verify", PURPOSE])
    _, ip = sqlite_stack.phone("ctcc")
    form = {
        "response_type": "code",
        "client_id": creds.client_id,
        "redirect_uri": REDIRECT,
        "scope": f"openid {PURPOSE} number-verification:verify",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    location = await run_device(
        f"{sqlite_stack.url}/oauth2/authorize", until=REDIRECT, device_ip=ip, method="POST", form=form
    )
    assert "code" in _query(location) and "state" not in _query(location)
    resp = await sqlite_stack.http.get(
        f"{sqlite_stack.url}/oauth2/authorize",
        params=form,
        headers={"X-Forwarded-For": ip, "x-correlator": "c-1"},
    )
    assert resp.status_code == 302 and resp.headers["x-correlator"] == "c-1"
    assert resp.headers["location"].startswith(sqlite_stack.operators["ctcc"].base_url + "/ctcc/authorize?")
    resp = await sqlite_stack.http.get(
        f"{sqlite_stack.url}/oauth2/callback/ctcc", params={"code": "x", "state": "forged"}
    )
    assert resp.status_code == 400 and resp.json()["code"] == "INVALID_ARGUMENT"
