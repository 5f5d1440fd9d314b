"""The CAMARA APIs with every token obtained the way a bank obtains it, over real sockets, on both
databases.

3-legged tokens come from the gateway's own grants: the code flow that the sandbox phone's browser
runs (``POST /sandbox/devices/{phone}/authorize``, PKCE S256, on cellular data or over SMS-OTP),
CIBA (``login_hint`` ``tel:+…`` or ``operatortoken:<SDK token>``, polled at the announced
``interval``) and JWT bearer (an ES256 assertion signed with a key of the tenant's JWKS); 2-legged
tokens come from client credentials. Subscribers are seeded through ``POST /sandbox/subscribers``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.leaks import SENSITIVE
from tests.stack import PREFIXES, Stack, TenantCreds, open_stack

pytestmark = pytest.mark.integration

REDIRECT = "https://bank.test/callback"
PURPOSE = "dpv:FraudPreventionAndDetection"
NV = "number-verification:verify number-verification:device-phone-number:read"
SWAPS = "sim-swap device-swap"
KYC = "kyc-match:match"
TENANT_SCOPES = ["openid", PURPOSE, *NV.split(), *SWAPS.split(), KYC]
CIBA_GRANT = "urn:openid:params:grant-type:ciba"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
NOT_BY_NETWORK = "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK"
KYC_RECORD = {
    "name": "Zhang Wei",
    "givenName": "Wei",
    "familyName": "Zhang",
    "birthdate": "1988-03-09",
    "country": "CN",
}


@pytest.fixture
async def stack(database_url: str) -> AsyncIterator[Stack]:
    """Gateway and sandbox on SQLite and PostgreSQL; the gateway's public URL is its real address,
    where the operators send the phone's browser back during a code flow."""
    async with open_stack(database_url, public=True) as running:
        yield running


@dataclass
class Bank:
    """A tenant with the CAMARA scopes, a registered redirect URI and an ES256 key in its JWKS."""

    stack: Stack
    creds: TenantCreds
    key: ec.EllipticCurvePrivateKey

    @classmethod
    async def register(cls, stack: Stack) -> Bank:
        """Register the tenant through the admin API."""
        key = ec.generate_private_key(ec.SECP256R1())
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        jwks = {"keys": [{**public, "kid": "bank-1", "alg": "ES256", "use": "sig"}]}
        creds = await stack.tenant(TENANT_SCOPES, redirect_uris=[REDIRECT], jwks=jwks)
        return cls(stack, creds, key)

    async def code_flow(self, phone: str, scope: str, *, method: str = "network") -> str:
        """An access token from the code flow run by ``phone``'s browser.

        On cellular data the operator is found from the phone's address; over SMS-OTP the
        authorize URL carries ``login_hint=tel:+…``.
        """
        hint = f"tel:{phone}" if method == "sms_otp" else None
        body = await self.stack.code_flow(
            self.creds, phone, f"openid {PURPOSE} {scope}", REDIRECT, method=method, login_hint=hint
        )
        token: str = body["access_token"]
        return token

    async def ciba(self, login_hint: str, scope: str) -> str:
        """An access token from CIBA: bc-authorize, then polls no sooner than ``interval`` apart.

        The bank waits ``interval`` seconds of the clock it shares with the gateway between polls.
        """
        http, url = self.stack.http, self.stack.gateway_url
        auth = (self.creds.client_id, self.creds.client_secret)
        started = await http.post(
            f"{url}/oauth2/bc-authorize",
            data={"scope": f"openid {PURPOSE} {scope}", "login_hint": login_hint},
            auth=auth,
        )
        assert started.status_code == 200, started.text
        request = started.json()
        assert request["interval"] == self.stack.settings.ciba_interval
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

    async def jwt_bearer(self, sub: str, scope: str) -> str:
        """An access token for an ES256 assertion about ``sub``, signed with the registered key."""
        now = int(self.stack.clock.now().timestamp())
        assertion = jwt.encode(
            {
                "iss": self.creds.client_id,
                "sub": sub,
                "aud": f"{self.stack.settings.issuer}/oauth2/token",
                "iat": now,
                "exp": now + 120,
                "jti": secrets.token_urlsafe(12),
                "scope": f"{PURPOSE} {scope}",
            },
            self.key,
            algorithm="ES256",
            headers={"kid": "bank-1"},
        )
        resp = await self.stack.http.post(
            f"{self.stack.gateway_url}/oauth2/token",
            data={"grant_type": JWT_BEARER_GRANT, "assertion": assertion},
        )
        assert resp.status_code == 200, resp.text
        token: str = resp.json()["access_token"]
        SENSITIVE.add(token)
        return token

    async def three_legged(self, grant: str, phone: str, scope: str) -> str:
        """A 3-legged token from ``grant``, ``<ciba|jwt-bearer>/<tel|operatortoken>``; an operator
        token is what the phone's SDK returns on cellular data."""
        flow, hint = grant.split("/")
        subject = f"tel:{phone}" if hint == "tel" else f"operatortoken:{await self.stack.sdk_token(phone)}"
        return await (self.ciba(subject, scope) if flow == "ciba" else self.jwt_bearer(subject, scope))

    async def two_legged(self, scope: str) -> str:
        """A client-credentials token."""
        return await self.stack.access_token(self.creds, f"{PURPOSE} {scope}")


@pytest.fixture
async def bank(stack: Stack) -> Bank:
    """A freshly registered bank on the running stack."""
    return await Bank.register(stack)


async def seed(stack: Stack, operator: str, **fields: Any) -> str:
    """A fresh subscriber of ``operator`` with ``fields`` (datetimes sent as RFC 3339)."""
    body = {key: value.isoformat() if isinstance(value, datetime) else value for key, value in fields.items()}
    return await stack.subscriber(operator, **body)


def other_number(phone: str) -> str:
    """``phone`` with its last digit changed (marked sensitive)."""
    other = phone[:-1] + str((int(phone[-1]) + 1) % 10)
    SENSITIVE.update({other, other[3:]})
    return other


def ago(stack: Stack, hours: float) -> datetime:
    """``hours`` before the stack's clock, to the second."""
    return (stack.clock.now() - timedelta(hours=hours)).replace(microsecond=0)


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    """A CAMARA error body with ``status`` and ``code``."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == status and body["code"] == code, body


async def device_phone_number(stack: Stack, token: str) -> httpx.Response:
    """``GET /number-verification/v2/device-phone-number``."""
    return await stack.http.get(
        f"{stack.gateway_url}/number-verification/v2/device-phone-number",
        headers={"Authorization": f"Bearer {token}"},
    )


def sha256_hex(phone: str) -> str:
    """The CAMARA hashed phone number."""
    return hashlib.sha256(phone.encode()).hexdigest()


# --- Number Verification -------------------------------------------------------------------------


async def test_number_verification_with_code_flow_tokens_on_cellular(stack: Stack, bank: Bank) -> None:
    """Network code-flow tokens: the phone's own number (plain or hashed) is true, another number
    (plain or hashed) is false, and device-phone-number shares the number; each token answers once."""
    phone = await seed(stack, "cucc")
    other = other_number(phone)
    for body, verified in (
        ({"phoneNumber": phone}, True),
        ({"hashedPhoneNumber": sha256_hex(phone)}, True),
        ({"phoneNumber": other}, False),
        ({"hashedPhoneNumber": sha256_hex(other)}, False),
    ):
        token = await bank.code_flow(phone, NV)
        resp = await stack.call("/number-verification/v2/verify", token, body)
        assert resp.status_code == 200, resp.text
        assert resp.json() == {"devicePhoneNumberVerified": verified}
    resp = await device_phone_number(stack, await bank.code_flow(phone, NV))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"devicePhoneNumber": phone}


async def test_number_verification_token_used_twice_is_401(stack: Stack, bank: Bank) -> None:
    """A network code-flow token verifies once; a second use on either operation is 401 UNAUTHENTICATED."""
    phone = await seed(stack, "cmcc")
    token = await bank.code_flow(phone, NV)
    first = await stack.call("/number-verification/v2/verify", token, {"phoneNumber": phone})
    assert first.status_code == 200 and first.json() == {"devicePhoneNumberVerified": True}
    assert_error(
        await stack.call("/number-verification/v2/verify", token, {"phoneNumber": phone}),
        401,
        "UNAUTHENTICATED",
    )
    assert_error(await device_phone_number(stack, token), 401, "UNAUTHENTICATED")


async def test_number_verification_refuses_sms_otp_code_flow_token(stack: Stack, bank: Bank) -> None:
    """An SMS-OTP code-flow token is 403 USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK on both NV
    operations, though the same token is good for SIM Swap."""
    phone = await seed(stack, "ctcc", simChangedAt=ago(stack, 2))
    token = await bank.code_flow(phone, f"{NV} {SWAPS}", method="sms_otp")
    assert_error(
        await stack.call("/number-verification/v2/verify", token, {"phoneNumber": phone}), 403, NOT_BY_NETWORK
    )
    assert_error(await device_phone_number(stack, token), 403, NOT_BY_NETWORK)
    resp = await stack.call("/sim-swap/v2/check", token, {"maxAge": 24})
    assert resp.status_code == 200 and resp.json() == {"swapped": True}, resp.text


async def test_number_verification_refuses_ciba_tel_token(stack: Stack, bank: Bank) -> None:
    """A CIBA ``tel:`` token is not network-authenticated: 403 USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK."""
    phone = await seed(stack, "cmcc")
    token = await bank.ciba(f"tel:{phone}", NV)
    assert_error(
        await stack.call("/number-verification/v2/verify", token, {"phoneNumber": phone}), 403, NOT_BY_NETWORK
    )
    assert_error(await device_phone_number(stack, token), 403, NOT_BY_NETWORK)


@pytest.mark.parametrize("grant", ["ciba/operatortoken", "jwt-bearer/operatortoken"])
async def test_number_verification_accepts_operator_token_grants(
    stack: Stack, bank: Bank, grant: str
) -> None:
    """CIBA and JWT bearer with an SDK token got on cellular data are network-authenticated: NV verifies."""
    phone = await seed(stack, "cucc")
    token = await bank.three_legged(grant, phone, NV)
    resp = await stack.call("/number-verification/v2/verify", token, {"hashedPhoneNumber": sha256_hex(phone)})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"devicePhoneNumberVerified": True}


# --- SIM Swap ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "grant", ["ciba/tel", "ciba/operatortoken", "jwt-bearer/tel", "jwt-bearer/operatortoken"]
)
async def test_sim_swap_with_a_three_legged_token(stack: Stack, bank: Bank, grant: str) -> None:
    """A 3-legged token names the line: check and retrieve-date answer without phoneNumber, and a
    phoneNumber beside it (even its own) is 422 UNNECESSARY_IDENTIFIER."""
    changed = ago(stack, 30)
    phone = await seed(stack, "cmcc", activatedAt=ago(stack, 1000), simChangedAt=changed)
    token = await bank.three_legged(grant, phone, SWAPS)
    recent = await stack.call("/sim-swap/v2/check", token, {"maxAge": 48})
    assert recent.status_code == 200 and recent.json() == {"swapped": True}, recent.text
    older = await stack.call("/sim-swap/v2/check", token, {"maxAge": 24})
    assert older.status_code == 200 and older.json() == {"swapped": False}, older.text
    date = await stack.call("/sim-swap/v2/retrieve-date", token, {})
    assert date.status_code == 200, date.text
    assert datetime.fromisoformat(date.json()["latestSimChange"]) == changed
    for operation in ("check", "retrieve-date"):
        resp = await stack.call(f"/sim-swap/v2/{operation}", token, {"phoneNumber": phone})
        assert_error(resp, 422, "UNNECESSARY_IDENTIFIER")


async def test_sim_swap_with_a_two_legged_token(stack: Stack, bank: Bank) -> None:
    """A client-credentials token needs phoneNumber (422 MISSING_IDENTIFIER without); an unknown number
    is 404 IDENTIFIER_NOT_FOUND, an ineligible line 422 SERVICE_NOT_APPLICABLE; a known line answers."""
    token = await bank.two_legged("sim-swap")
    changed = ago(stack, 5)
    phone = await seed(stack, "ctcc", simChangedAt=changed)
    ineligible = await seed(stack, "ctcc", simChangedAt=changed, eligible=False)
    unknown = f"+86{PREFIXES['ctcc']}{secrets.randbelow(10**8):08d}"
    SENSITIVE.update({unknown, unknown[3:]})
    for operation in ("check", "retrieve-date"):
        path = f"/sim-swap/v2/{operation}"
        assert_error(await stack.call(path, token, {}), 422, "MISSING_IDENTIFIER")
        assert_error(await stack.call(path, token, {"phoneNumber": unknown}), 404, "IDENTIFIER_NOT_FOUND")
        assert_error(
            await stack.call(path, token, {"phoneNumber": ineligible}), 422, "SERVICE_NOT_APPLICABLE"
        )
    check = await stack.call("/sim-swap/v2/check", token, {"phoneNumber": phone, "maxAge": 6})
    assert check.status_code == 200 and check.json() == {"swapped": True}, check.text
    date = await stack.call("/sim-swap/v2/retrieve-date", token, {"phoneNumber": phone})
    assert date.status_code == 200, date.text
    assert datetime.fromisoformat(date.json()["latestSimChange"]) == changed


# --- Device Swap ---------------------------------------------------------------------------------


@pytest.mark.parametrize("grant", ["ciba/tel", "jwt-bearer/operatortoken"])
async def test_device_swap_with_a_three_legged_token(stack: Stack, bank: Bank, grant: str) -> None:
    """A 3-legged token checks its line's device change; a line without device data is 422
    SERVICE_NOT_APPLICABLE, and a phoneNumber beside the token 422 UNNECESSARY_IDENTIFIER."""
    changed = ago(stack, 10)
    phone = await seed(stack, "cucc", imei="356938035643809", deviceChangedAt=changed)
    token = await bank.three_legged(grant, phone, SWAPS)
    check = await stack.call("/device-swap/v1/check", token, {"maxAge": 12})
    assert check.status_code == 200 and check.json() == {"swapped": True}, check.text
    date = await stack.call("/device-swap/v1/retrieve-date", token, {})
    assert date.status_code == 200, date.text
    assert datetime.fromisoformat(date.json()["latestDeviceChange"]) == changed
    assert_error(
        await stack.call("/device-swap/v1/check", token, {"phoneNumber": phone}),
        422,
        "UNNECESSARY_IDENTIFIER",
    )

    bare = await seed(stack, "cucc", simChangedAt=changed)
    bare_token = await bank.three_legged(grant, bare, SWAPS)
    for operation in ("check", "retrieve-date"):
        resp = await stack.call(f"/device-swap/v1/{operation}", bare_token, {})
        assert_error(resp, 422, "SERVICE_NOT_APPLICABLE")


# --- KYC Match -----------------------------------------------------------------------------------


@pytest.mark.parametrize("grant", ["ciba/tel", "jwt-bearer/tel"])
async def test_kyc_match_with_a_three_legged_token(stack: Stack, bank: Bank, grant: str) -> None:
    """A 3-legged token takes its own number (or none) and refuses another: 403 INVALID_TOKEN_CONTEXT."""
    phone = await seed(stack, "cmcc", kyc=KYC_RECORD)
    token = await bank.three_legged(grant, phone, KYC)
    same = await stack.call("/kyc-match/v0.4/match", token, {"phoneNumber": phone, "name": "Wei Zhang"})
    assert same.status_code == 200 and same.json() == {"nameMatch": "true"}, same.text
    implicit = await stack.call("/kyc-match/v0.4/match", token, {"birthdate": "1988-03-09"})
    assert implicit.status_code == 200 and implicit.json() == {"birthdateMatch": "true"}, implicit.text
    resp = await stack.call(
        "/kyc-match/v0.4/match", token, {"phoneNumber": other_number(phone), "name": "Zhang Wei"}
    )
    assert_error(resp, 403, "INVALID_TOKEN_CONTEXT")


async def test_kyc_match_with_a_two_legged_token(stack: Stack, bank: Bank) -> None:
    """A client-credentials token: a misspelt name is "false" with a 0-99 score, the right country "true"."""
    phone = await seed(stack, "ctcc", kyc=KYC_RECORD)
    token = await bank.two_legged(KYC)
    resp = await stack.call(
        "/kyc-match/v0.4/match", token, {"phoneNumber": phone, "name": "Zhang Wie", "country": "cn"}
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["nameMatch"] == "false" and 50 <= body["nameMatchScore"] <= 99, body
    assert body["countryMatch"] == "true" and "countryMatchScore" not in body, body
    assert_error(
        await stack.call("/kyc-match/v0.4/match", token, {"name": "Zhang Wei"}), 422, "MISSING_IDENTIFIER"
    )
