"""The dpv: purpose rule on real sockets in every 3-legged flow: JWT bearer at /oauth2/token and CIBA
at /oauth2/bc-authorize refuse with 400 invalid_scope in the RFC 6749 shape naming the rule; the code
flow sends invalid_scope back to the client's redirect URI."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.leaks import SENSITIVE
from tests.stack import Stack, open_stack

pytestmark = pytest.mark.integration
FRAUD, MARKETING = "dpv:FraudPreventionAndDetection", "dpv:Marketing"
REDIRECT = "https://bank.test/callback"
REFUSED = [("", "processes personal data"), (f"{FRAUD} {MARKETING}", "exactly one")]


def _invalid_scope(resp: httpx.Response) -> str:
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert set(body) == {"error", "error_description"} and body["error"] == "invalid_scope"
    description: str = body["error_description"]
    return description


async def test_jwt_bearer_purposes(stack: Stack) -> None:
    """One purpose beside sim-swap:check gets a token; none, or two, is invalid_scope; both databases."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key())), "kid": "k"}
    creds = await stack.tenant(["sim-swap:check", FRAUD, MARKETING], jwks={"keys": [jwk]})
    phone = await stack.subscriber("cmcc")

    async def grant(scope: str) -> httpx.Response:
        now = int(time.time())
        claims = {
            "iss": creds.client_id,
            "sub": f"tel:{phone}",
            "aud": f"{stack.settings.issuer}/oauth2/token",
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_hex(8),
            "scope": scope,
        }
        assertion = jwt.encode(claims, key, algorithm="ES256", headers={"kid": "k"})
        return await stack.http.post(
            f"{stack.gateway_url}/oauth2/token",
            data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        )

    assert (await grant(f"{FRAUD} sim-swap:check")).status_code == 200
    assert "personal data" in _invalid_scope(await grant("sim-swap:check"))
    assert "exactly one" in _invalid_scope(await grant(f"{FRAUD} {MARKETING} sim-swap:check"))


@pytest.fixture
async def public_stack(database_url: str) -> AsyncIterator[Stack]:
    """Gateway and sandbox on SQLite and PostgreSQL, the gateway's real address its public URL (where
    the operator sends the phone's browser back during a code flow)."""
    async with open_stack(database_url, public=True) as running:
        yield running


async def test_the_code_flow_requires_exactly_one_purpose(public_stack: Stack) -> None:
    """With one purpose beside number-verification:verify the code flow ends in a token carrying it;
    with none or two the browser goes straight back to the client with invalid_scope saying why and
    the state, and no operator is involved; both databases."""
    stack = public_stack
    creds = await stack.tenant(["number-verification:verify", FRAUD, MARKETING], redirect_uris=[REDIRECT])
    phone = await stack.subscriber("cmcc")
    body = await stack.code_flow(creds, phone, f"openid {FRAUD} number-verification:verify", REDIRECT)
    assert body["scope"] == f"{FRAUD} number-verification:verify openid"
    for purposes, says in REFUSED:
        resp = await stack.http.get(
            f"{stack.gateway_url}/oauth2/authorize",
            params={
                "response_type": "code",
                "client_id": creds.client_id,
                "redirect_uri": REDIRECT,
                "scope": f"openid {purposes} number-verification:verify",
                "state": "s-1",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
                "login_hint": f"tel:{phone}",
            },
        )
        assert resp.status_code in (302, 303), resp.text
        location = resp.headers["location"]
        assert location.startswith(REDIRECT + "?"), location
        answer = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
        assert answer["error"] == "invalid_scope" and says in answer["error_description"], answer
        assert answer["state"] == "s-1"


async def test_ciba_requires_exactly_one_purpose(stack: Stack) -> None:
    """A backchannel request for sim-swap:check with one purpose is accepted and its token carries the
    purpose; with none or two it is invalid_scope saying why, before any subscriber is looked up;
    both databases."""
    creds = await stack.tenant(["sim-swap:check", FRAUD, MARKETING])
    auth = (creds.client_id, creds.client_secret)
    phone = await stack.subscriber("cmcc")
    started = await stack.http.post(
        f"{stack.gateway_url}/oauth2/bc-authorize",
        data={"scope": f"openid {FRAUD} sim-swap:check", "login_hint": f"tel:{phone}"},
        auth=auth,
    )
    assert started.status_code == 200, started.text
    polled = await stack.http.post(
        f"{stack.gateway_url}/oauth2/token",
        data={
            "grant_type": "urn:openid:params:grant-type:ciba",
            "auth_req_id": started.json()["auth_req_id"],
        },
        auth=auth,
    )
    assert polled.status_code == 200, polled.text
    SENSITIVE.update({polled.json()["access_token"], polled.json()["id_token"]})
    assert polled.json()["scope"] == f"{FRAUD} openid sim-swap:check"
    for purposes, says in REFUSED:
        resp = await stack.http.post(
            f"{stack.gateway_url}/oauth2/bc-authorize",
            data={"scope": f"openid {purposes} sim-swap:check", "login_hint": "tel:+14155550100"},
            auth=auth,
        )
        assert says in _invalid_scope(resp)
