"""The sandbox's bank identity provider (``/bank-idp``, docs/sandbox.md): discovery and JWKS, the
authorize page, the token endpoint's client authentication, single-use short-lived codes, PKCE and
exact redirect URIs, and ID tokens that verify with the published key."""

from __future__ import annotations

import base64
import hashlib
import re
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from tests.clocks import ManualClock
from tests.sandbox.conftest import SandboxClient

REDIRECT = "https://gw.example/console/sso/callback"
VERIFIER = "v" * 50
_HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def _client(client: SandboxClient) -> dict[str, str]:
    resp = await client.post("/bank-idp/sandbox/clients", json={"redirect_uris": [REDIRECT]})
    assert resp.status == 201
    body: dict[str, str] = await resp.json()
    return body


async def _code(client: SandboxClient, registered: dict[str, str], sub: str = "employee-0001") -> str:
    query = {
        "client_id": registered["client_id"],
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": "openid",
        "state": "s-1",
        "nonce": "n-1",
        "code_challenge": _challenge(VERIFIER),
        "code_challenge_method": "S256",
    }
    page = await client.get("/bank-idp/authorize", params=query)
    assert page.status == 200
    form = {k: unescape(v) for k, v in _HIDDEN.findall(await page.text())} | {"sub": sub}
    pressed = await client.post("/bank-idp/authorize", data=form, allow_redirects=False)
    assert pressed.status == 302
    back = parse_qs(urlsplit(pressed.headers["Location"]).query)
    assert back["state"] == ["s-1"] and back["iss"][0].endswith("/bank-idp")
    return back["code"][0]


async def _token(client: SandboxClient, registered: dict[str, str], code: str, **extra: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
    }
    form |= extra
    auth = base64.b64encode(f"{registered['client_id']}:{registered['client_secret']}".encode()).decode()
    return await client.post("/bank-idp/token", data=form, headers={"Authorization": f"Basic {auth}"})


async def test_discovery_names_its_endpoints_under_its_issuer(client: SandboxClient) -> None:
    """The issuer is the sandbox's own URL + /bank-idp; every endpoint is under it; PKCE S256."""
    found = await (await client.get("/bank-idp/.well-known/openid-configuration")).json()
    issuer = str(client.make_url("/bank-idp"))
    assert found["issuer"] == issuer
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        assert found[name].startswith(issuer + "/")
    assert found["code_challenge_methods_supported"] == ["S256"]


async def test_a_code_gives_an_id_token_signed_by_the_published_key(client: SandboxClient) -> None:
    """The employee's button gives a code; the code with the verifier gives an RS256 ID token for
    the client, with the nonce, verifying with the JWKS; the code works once."""
    registered = await _client(client)
    code = await _code(client, registered)
    resp = await _token(client, registered, code)
    assert resp.status == 200
    id_token = (await resp.json())["id_token"]
    keys = KeySet.import_key_set(await (await client.get("/bank-idp/jwks")).json())
    claims = jwt.decode(id_token, keys, algorithms=["RS256"]).claims
    assert claims["sub"] == "employee-0001" and claims["aud"] == registered["client_id"]
    assert claims["nonce"] == "n-1" and claims["iss"] == str(client.make_url("/bank-idp"))
    assert (await (await _token(client, registered, code)).json()) == {"error": "invalid_grant"}


async def test_the_token_endpoint_refuses_wrong_credentials_verifier_redirect_or_age(
    client: SandboxClient, clock: ManualClock
) -> None:
    """A wrong secret is 401 invalid_client; a wrong verifier or redirect URI, or a code older than
    60 s, is invalid_grant."""
    registered = await _client(client)
    wrong = {**registered, "client_secret": "nope"}
    assert (await _token(client, wrong, await _code(client, registered))).status == 401
    bad_verifier = await _token(client, registered, await _code(client, registered), code_verifier="w" * 50)
    assert (await bad_verifier.json())["error"] == "invalid_grant"
    other_redirect = await _token(
        client, registered, await _code(client, registered), redirect_uri=REDIRECT + "x"
    )
    assert (await other_redirect.json())["error"] == "invalid_grant"
    code = await _code(client, registered)
    clock.advance(60)
    assert (await (await _token(client, registered, code)).json())["error"] == "invalid_grant"


async def test_an_unregistered_redirect_uri_is_a_page_not_a_redirect(client: SandboxClient) -> None:
    """An unknown client or redirect URI answers a 400 page; a bad JSON body to the control API is
    400 INVALID_ARGUMENT."""
    registered = await _client(client)
    query = {"client_id": registered["client_id"], "redirect_uri": "https://evil.example/cb"}
    page = await client.get("/bank-idp/authorize", params=query, allow_redirects=False)
    assert page.status == 400 and "Location" not in page.headers
    bad = await client.post("/bank-idp/sandbox/clients", data=b"not json")
    assert bad.status == 400 and (await bad.json())["code"] == "INVALID_ARGUMENT"
