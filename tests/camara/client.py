"""A bank calling the CAMARA APIs as the test definitions' Background sets the call up: JSON
content type, an ``x-correlator`` valid against ``XCorrelator``, and a real access token from the
gateway's own grants.

Tokens: 2-legged from client credentials; 3-legged from the code flow that the sandbox phone's
browser runs on cellular data (``network``) or over SMS-OTP (``sms_otp``), or from CIBA with a
``tel:`` login hint. An expired token is a real one whose ``exp`` has passed on the clock the
gateway and the sandbox share; an invalid one is a gateway token with a changed signature.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from tests.leaks import SENSITIVE
from tests.stack import PREFIXES, Stack, TenantCreds

__all__ = [
    "AUTH_FAILURES",
    "NO_BODY",
    "PURPOSE",
    "Camara",
    "tampered",
]

REDIRECT: Final = "https://bank.test/callback"
PURPOSE: Final = "dpv:FraudPreventionAndDetection"
NV_VERIFY: Final = "number-verification:verify"
NV_SHARE: Final = "number-verification:device-phone-number:read"
TENANT_SCOPES: Final = [
    "openid",
    PURPOSE,
    NV_VERIFY,
    NV_SHARE,
    "sim-swap",
    "device-swap",
    "kyc-match:match",
]
CIBA_GRANT: Final = "urn:openid:params:grant-type:ciba"
AUTH_FAILURES: Final = ("no_authorization_header", "expired_access_token", "invalid_access_token")
"""The generic 401 scenarios (``*_401.1`` to ``*_401.3``), in the order the features number them."""
NO_BODY: Final[Any] = object()


def tampered(token: str) -> str:
    """``token`` with one character in the middle of its signature changed."""
    head, _, signature = token.rpartition(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


@dataclass
class Camara:
    """A bank (tenant) holding every CAMARA scope, a redirect URI and an ES256 key, on a live stack."""

    stack: Stack
    creds: TenantCreds

    @classmethod
    async def register(cls, stack: Stack, scopes: Sequence[str] = TENANT_SCOPES) -> Camara:
        """Register the bank through the admin API, holding ``scopes`` (default: every scope above)."""
        key = ec.generate_private_key(ec.SECP256R1())
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        jwks = {"keys": [{**public, "kid": "bank-1", "alg": "ES256", "use": "sig"}]}
        creds = await stack.tenant(list(scopes), redirect_uris=[REDIRECT], jwks=jwks)
        return cls(stack, creds)

    # --- subscribers ------------------------------------------------------------------------------

    async def subscriber(self, operator: str, **seed: Any) -> str:
        """A fresh sandbox subscriber of ``operator`` (datetimes sent as RFC 3339)."""
        body = {
            key: value.isoformat() if isinstance(value, datetime) else value for key, value in seed.items()
        }
        return await self.stack.subscriber(operator, **body)

    def unregistered(self, operator: str) -> str:
        """A number in ``operator``'s range that no subscriber holds (marked sensitive)."""
        phone = f"+86{PREFIXES[operator]}{secrets.randbelow(10**8):08d}"
        SENSITIVE.update({phone, phone[3:]})
        return phone

    def ago(self, hours: float) -> datetime:
        """``hours`` before the shared clock's now, to the second."""
        return (self.stack.clock.now() - timedelta(hours=hours)).replace(microsecond=0)

    # --- tokens -----------------------------------------------------------------------------------

    async def two_legged(self, scope: str = " ".join(TENANT_SCOPES[1:])) -> str:
        """A client-credentials token."""
        return await self.stack.access_token(self.creds, scope)

    async def network(self, phone: str, scope: str) -> str:
        """A code-flow token: ``phone``'s browser authenticated by the operator on cellular data."""
        body = await self.stack.code_flow(self.creds, phone, f"openid {PURPOSE} {scope}", REDIRECT)
        token: str = body["access_token"]
        return token

    async def sms_otp(self, phone: str, scope: str) -> str:
        """A code-flow token: ``phone`` on Wi-Fi, authenticated by an SMS one-time code."""
        body = await self.stack.code_flow(
            self.creds,
            phone,
            f"openid {PURPOSE} {scope}",
            REDIRECT,
            method="sms_otp",
            login_hint=f"tel:{phone}",
        )
        token: str = body["access_token"]
        return token

    async def ciba(self, phone: str, scope: str) -> str:
        """A CIBA token for ``login_hint=tel:<phone>``, polled ``interval`` apart on the shared clock."""
        http, url = self.stack.http, self.stack.gateway_url
        auth = (self.creds.client_id, self.creds.client_secret)
        started = await http.post(
            f"{url}/oauth2/bc-authorize",
            data={"scope": f"openid {PURPOSE} {scope}", "login_hint": f"tel:{phone}"},
            auth=auth,
        )
        assert started.status_code == 200, started.text
        request = started.json()
        for _ in range(40):
            resp = await http.post(
                f"{url}/oauth2/token",
                data={"grant_type": CIBA_GRANT, "auth_req_id": request["auth_req_id"]},
                auth=auth,
            )
            if resp.status_code == 200:
                body = resp.json()
                SENSITIVE.update({body["access_token"], body["id_token"]})
                token: str = body["access_token"]
                return token
            assert resp.status_code == 400 and resp.json()["error"] == "authorization_pending", resp.text
            self.stack.clock.advance(request["interval"])
            await asyncio.sleep(0.05)
        raise AssertionError("the CIBA request never settled")

    def expire(self, token: str) -> str:
        """``token`` after its ``exp`` (plus the verifier's 30 s leeway) has passed on the shared clock."""
        exp = jwt.decode(token, options={"verify_signature": False})["exp"]
        self.stack.clock.advance(exp - self.stack.clock.now().timestamp() + 31)
        return token

    async def failing_authorization(self, failure: str, fresh: str) -> str | None:
        """The Authorization bearer of a generic 401 scenario, given a ``fresh`` valid token."""
        if failure == "no_authorization_header":
            return None
        if failure == "expired_access_token":
            return self.expire(fresh)
        invalid = tampered(fresh)
        SENSITIVE.add(invalid)
        return invalid

    # --- calls ------------------------------------------------------------------------------------

    async def send(self, method: str, path: str, token: str | None, body: Any = NO_BODY) -> httpx.Response:
        """``method path`` with JSON ``body`` (or none), a fresh ``x-correlator`` and ``token``."""
        headers = {"Content-Type": "application/json", "x-correlator": str(uuid.uuid4())}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        content = b"" if body is NO_BODY else json.dumps(body).encode()
        if method == "GET":
            del headers["Content-Type"]
            content = b""
        return await self.stack.http.request(
            method, f"{self.stack.gateway_url}{path}", content=content, headers=headers
        )

    async def post(self, path: str, token: str | None, body: Any = NO_BODY) -> httpx.Response:
        """``POST path``."""
        return await self.send("POST", path, token, body)
