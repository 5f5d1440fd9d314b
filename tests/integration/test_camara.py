"""The CAMARA APIs of contract §3 over real sockets to the sandbox operators, on both databases.

2-legged calls use client-credentials tokens from the gateway's token endpoint; 3-legged tokens
are minted with :class:`~gateway.oauth.tokens.AccessTokens` on the gateway's own signing keys (as
the authorization flows do). Subscribers are seeded through the sandbox control API
(``simChangedAt``, ``deviceChangedAt``, ``imei``, ``eligible``, ``kyc``); the sandbox operators keep
2400 h (cmcc), 720 h (cucc) and 1440 h (ctcc) of line history.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from gateway.crypto import FieldCipher, Keyring
from gateway.db import create_engine, session_factory
from gateway.oauth.keys import KeyStore
from gateway.oauth.tokens import AccessTokens, Principal
from gateway.one_tap.models import UsageRecord
from tests.leaks import SENSITIVE
from tests.stack import PREFIXES, Stack, TenantCreds, open_stack

pytestmark = pytest.mark.integration

SWAP_SCOPES = ["sim-swap", "device-swap"]
NV_SCOPES = ["number-verification:verify", "number-verification:device-phone-number:read"]


@dataclass
class CamaraEnv:
    """A running gateway + sandbox pair and a minter of 3-legged tokens on the gateway's keys."""

    stack: Stack
    engine: AsyncEngine
    minter: AccessTokens

    async def bank(self, scopes: list[str]) -> tuple[TenantCreds, str]:
        """A tenant holding ``scopes`` and a 2-legged token of it."""
        creds = await self.stack.tenant(scopes)
        return creds, await self.stack.access_token(creds)

    async def subscriber(self, operator: str, **seed: Any) -> str:
        """A fresh subscriber of ``operator`` (``POST /sandbox/subscribers``; datetimes as RFC 3339)."""
        body = {
            key: value.isoformat() if isinstance(value, datetime) else value for key, value in seed.items()
        }
        return await self.stack.subscriber(operator, **body)

    def three_legged(
        self,
        creds: TenantCreds,
        phone: str,
        operator: str,
        scopes: list[str],
        *,
        amr: tuple[str, ...] = ("network",),
        ttl: int = 300,
    ) -> str:
        """A 3-legged access token for ``phone``, as the authorization endpoint would issue it."""
        token = self.minter.issue(
            Principal(creds.tenant_id, creds.client_id, frozenset(scopes)),
            {"sub": "pairwise-" + secrets.token_hex(8)},
            phone_number=phone,
            operator=operator,
            amr=list(amr),
            ttl=ttl,
        )
        SENSITIVE.add(token)
        return token

    async def operator_down(self, operator: str) -> None:
        """The sandbox operator stops answering."""
        await self.stack.faults(operator, down=True)

    async def usage(self, tenant_id: str) -> list[UsageRecord]:
        """The tenant's usage rows."""
        async with session_factory(self.engine)() as session:
            return list(await session.exec(select(UsageRecord).where(UsageRecord.tenant_id == tenant_id)))

    async def post(self, path: str, bearer: str, body: Any) -> httpx.Response:
        """POST ``body`` as JSON."""
        return await self.stack.call(path, bearer, body)


@asynccontextmanager
async def open_env(database_url: str) -> AsyncIterator[CamaraEnv]:
    """Gateway and sandbox on 127.0.0.1 over the given database."""
    async with open_stack(database_url) as stack:
        engine = create_engine(database_url)
        try:
            data_keys = stack.settings.data_keys
            assert data_keys is not None
            cipher = FieldCipher(Keyring.parse(data_keys.get_secret_value()))
            keys = KeyStore(
                session_factory(engine), cipher, stack.clock, max_token_ttl=stack.settings.access_token_ttl
            )
            await keys.load()
            minter = AccessTokens(keys, stack.clock, cipher, issuer=stack.settings.issuer, ttl=300)
            yield CamaraEnv(stack, engine, minter)
        finally:
            await engine.dispose()


@pytest.fixture
async def env(database_url: str) -> AsyncIterator[CamaraEnv]:
    """Gateway and sandbox over SQLite and over PostgreSQL."""
    async with open_env(database_url) as running:
        yield running


@pytest.fixture
async def sqlite_env(sqlite_url: str) -> AsyncIterator[CamaraEnv]:
    """Gateway and sandbox over SQLite only, for behaviour that does not touch the database."""
    async with open_env(sqlite_url) as running:
        yield running


def assert_error(resp: httpx.Response, status: int, code: str) -> None:
    """The contract's error shape with ``status`` and ``code``, JSON, correlated."""
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.headers.get("x-correlator")
    body = resp.json()
    assert body["status"] == status and body["code"] == code, body
    assert isinstance(body["message"], str) and "Traceback" not in resp.text


def _ago(env: CamaraEnv, **delta: float) -> datetime:
    return env.stack.clock.now() - timedelta(**delta)


# --- Number Verification -------------------------------------------------------------------------


async def test_number_verification_verify_share_and_single_use(env: CamaraEnv) -> None:
    """A network token verifies its number once; its next use is 401; answered calls are recorded."""
    creds, _ = await env.bank(NV_SCOPES)
    phone = await env.subscriber("cmcc")
    token = env.three_legged(creds, phone, "cmcc", NV_SCOPES)
    resp = await env.stack.http.post(
        f"{env.stack.gateway_url}/number-verification/v2/verify",
        json={"phoneNumber": phone},
        headers={"Authorization": f"Bearer {token}", "x-correlator": "nv-1"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"devicePhoneNumberVerified": True}
    assert resp.headers["x-correlator"] == "nv-1"
    again = await env.stack.http.get(
        f"{env.stack.gateway_url}/number-verification/v2/device-phone-number",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert_error(again, 401, "UNAUTHENTICATED")

    share = env.three_legged(creds, phone, "cmcc", NV_SCOPES)
    resp = await env.stack.http.get(
        f"{env.stack.gateway_url}/number-verification/v2/device-phone-number",
        headers={"Authorization": f"Bearer {share}"},
    )
    assert resp.status_code == 200 and resp.json() == {"devicePhoneNumber": phone}
    rows = await env.usage(creds.tenant_id)
    assert sorted(row.capability for row in rows) == [
        "camara_number_verification_share",
        "camara_number_verification_verify",
    ]
    assert all(row.billed and row.operator == "cmcc" for row in rows)


@pytest.mark.parametrize(
    ("body", "verified"),
    [
        (lambda phone: {"phoneNumber": phone[:-1] + str((int(phone[-1]) + 1) % 10)}, False),
        (lambda phone: {"hashedPhoneNumber": hashlib.sha256(phone.encode()).hexdigest().upper()}, True),
        (lambda phone: {"hashedPhoneNumber": hashlib.sha256(phone.encode()).hexdigest()}, True),
        (lambda phone: {"hashedPhoneNumber": hashlib.sha256(phone[1:].encode()).hexdigest()}, False),
    ],
    ids=["other number", "hash uppercase", "hash lowercase", "hash without plus"],
)
async def test_number_verification_answers(sqlite_env: CamaraEnv, body: Any, verified: bool) -> None:
    """Another number is 200 false; the SHA-256 hex of the E.164 number with '+' verifies in either case."""
    creds, _ = await sqlite_env.bank(NV_SCOPES)
    phone = await sqlite_env.subscriber("ctcc")
    token = sqlite_env.three_legged(creds, phone, "ctcc", NV_SCOPES)
    resp = await sqlite_env.post("/number-verification/v2/verify", token, body(phone))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"devicePhoneNumberVerified": verified}


async def test_number_verification_refuses_tokens_not_from_network_authentication(
    sqlite_env: CamaraEnv,
) -> None:
    """2-legged, SMS-OTP and tel tokens: 403 NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK."""
    creds, two_legged = await sqlite_env.bank(NV_SCOPES)
    phone = await sqlite_env.subscriber("cucc")
    code = "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK"
    for bearer in (
        two_legged,
        sqlite_env.three_legged(creds, phone, "cucc", NV_SCOPES, amr=("sms_otp",)),
        sqlite_env.three_legged(creds, phone, "cucc", NV_SCOPES, amr=("tel",)),
    ):
        resp = await sqlite_env.post("/number-verification/v2/verify", bearer, {"phoneNumber": phone})
        assert_error(resp, 403, code)
        resp = await sqlite_env.stack.http.get(
            f"{sqlite_env.stack.gateway_url}/number-verification/v2/device-phone-number",
            headers={"Authorization": f"Bearer {bearer}"},
        )
        assert_error(resp, 403, code)


async def test_number_verification_token_longer_than_300_seconds_is_401(sqlite_env: CamaraEnv) -> None:
    """An otherwise valid network token issued for 900 s is the generic 401 on NV."""
    creds, _ = await sqlite_env.bank(NV_SCOPES)
    phone = await sqlite_env.subscriber("cmcc")
    token = sqlite_env.three_legged(creds, phone, "cmcc", NV_SCOPES, ttl=900)
    resp = await sqlite_env.post("/number-verification/v2/verify", token, {"phoneNumber": phone})
    assert_error(resp, 401, "UNAUTHENTICATED")


async def test_number_verification_bad_body_is_400_and_does_not_spend_the_token(
    sqlite_env: CamaraEnv,
) -> None:
    """Malformed verify bodies are 400 INVALID_ARGUMENT; the token still verifies afterwards."""
    creds, _ = await sqlite_env.bank(NV_SCOPES)
    phone = await sqlite_env.subscriber("cmcc")
    token = sqlite_env.three_legged(creds, phone, "cmcc", NV_SCOPES)
    for body in (
        {},
        {"phoneNumber": phone, "hashedPhoneNumber": "a" * 64},
        {"foo": "bar"},
        {"phoneNumber": "123"},
    ):
        assert_error(
            await sqlite_env.post("/number-verification/v2/verify", token, body), 400, "INVALID_ARGUMENT"
        )
    resp = await sqlite_env.post("/number-verification/v2/verify", token, {"phoneNumber": phone})
    assert resp.json() == {"devicePhoneNumberVerified": True}


async def test_number_verification_needs_its_scope(sqlite_env: CamaraEnv) -> None:
    """A network token without the NV scope is 403 PERMISSION_DENIED."""
    creds, _ = await sqlite_env.bank(["sim-swap", *NV_SCOPES])
    phone = await sqlite_env.subscriber("cmcc")
    token = sqlite_env.three_legged(creds, phone, "cmcc", ["sim-swap"])
    resp = await sqlite_env.post("/number-verification/v2/verify", token, {"phoneNumber": phone})
    assert_error(resp, 403, "PERMISSION_DENIED")


# --- SIM Swap and Device Swap --------------------------------------------------------------------


@pytest.mark.parametrize("api", ["sim-swap/v2", "device-swap/v1"])
async def test_swap_check_and_date_with_a_two_legged_token(env: CamaraEnv, api: str) -> None:
    """check is true within maxAge and false outside it; retrieve-date returns the change with its offset."""
    creds, bearer = await env.bank(SWAP_SCOPES)
    changed = _ago(env, hours=30).replace(microsecond=0)
    phone = await env.subscriber(
        "cucc", imei="356938035643809", simChangedAt=changed, deviceChangedAt=changed
    )

    recent = await env.post(f"/{api}/check", bearer, {"phoneNumber": phone, "maxAge": 48})
    assert recent.status_code == 200 and recent.json() == {"swapped": True}
    old = await env.post(f"/{api}/check", bearer, {"phoneNumber": phone, "maxAge": 24})
    assert old.json() == {"swapped": False}
    default = await env.post(f"/{api}/check", bearer, {"phoneNumber": phone})
    assert default.json() == {"swapped": True}

    resp = await env.post(f"/{api}/retrieve-date", bearer, {"phoneNumber": phone})
    assert resp.status_code == 200, resp.text
    [(field, value)] = resp.json().items()
    assert field == ("latestSimChange" if api.startswith("sim") else "latestDeviceChange")
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None and parsed == changed
    rows = await env.usage(creds.tenant_id)
    kind = api.split("/")[0].replace("-", "_")
    assert sorted(row.capability for row in rows) == [f"camara_{kind}_check"] * 3 + [
        f"camara_{kind}_retrieve_date"
    ]


@pytest.mark.parametrize("api", ["sim-swap/v2", "device-swap/v1"])
async def test_swap_date_beyond_the_window_is_null_with_monitored_period(
    sqlite_env: CamaraEnv, api: str
) -> None:
    """A change older than ctcc's 60-day window: a null date, monitoredPeriod 60, and not swapped."""
    _, bearer = await sqlite_env.bank(SWAP_SCOPES)
    long_ago = _ago(sqlite_env, hours=1500)
    phone = await sqlite_env.subscriber(
        "ctcc", imei="356938035643809", activatedAt=long_ago, simChangedAt=long_ago, deviceChangedAt=long_ago
    )
    resp = await sqlite_env.post(f"/{api}/retrieve-date", bearer, {"phoneNumber": phone})
    assert resp.status_code == 200, resp.text
    field = "latestSimChange" if api.startswith("sim") else "latestDeviceChange"
    assert resp.json() == {field: None, "monitoredPeriod": 60}
    resp = await sqlite_env.post(f"/{api}/check", bearer, {"phoneNumber": phone, "maxAge": 1440})
    assert resp.json() == {"swapped": False}


@pytest.mark.parametrize("api", ["sim-swap/v2", "device-swap/v1"])
async def test_swap_identifier_rules(sqlite_env: CamaraEnv, api: str) -> None:
    """2-legged, no number: 422 MISSING_IDENTIFIER; 3-legged plus its number: 422 UNNECESSARY_IDENTIFIER."""
    creds, bearer = await sqlite_env.bank(SWAP_SCOPES)
    phone = await sqlite_env.subscriber(
        "cmcc", imei="1", simChangedAt=_ago(sqlite_env, hours=1), deviceChangedAt=_ago(sqlite_env, hours=1)
    )
    for op in ("check", "retrieve-date"):
        assert_error(await sqlite_env.post(f"/{api}/{op}", bearer, {}), 422, "MISSING_IDENTIFIER")
    token = sqlite_env.three_legged(creds, phone, "cmcc", SWAP_SCOPES, amr=("sms_otp",))
    for op in ("check", "retrieve-date"):
        resp = await sqlite_env.post(f"/{api}/{op}", token, {"phoneNumber": phone})
        assert_error(resp, 422, "UNNECESSARY_IDENTIFIER")
    resp = await sqlite_env.post(f"/{api}/check", token, {"maxAge": 120})
    assert resp.status_code == 200 and resp.json() == {"swapped": True}


@pytest.mark.parametrize("api", ["sim-swap/v2", "device-swap/v1"])
async def test_swap_max_age_bounds(sqlite_env: CamaraEnv, api: str) -> None:
    """maxAge 100000 is 400 OUT_OF_RANGE naming 2400; wrong types and 0 are 400 INVALID_ARGUMENT."""
    _, bearer = await sqlite_env.bank(SWAP_SCOPES)
    phone = await sqlite_env.subscriber("cmcc", imei="1", simChangedAt=_ago(sqlite_env, hours=1))
    resp = await sqlite_env.post(f"/{api}/check", bearer, {"phoneNumber": phone, "maxAge": 100000})
    assert_error(resp, 400, "OUT_OF_RANGE")
    assert "2400" in resp.json()["message"]
    for bad in ("24", 0, -5, 1.5, None, True):
        resp = await sqlite_env.post(f"/{api}/check", bearer, {"phoneNumber": phone, "maxAge": bad})
        assert_error(resp, 400, "INVALID_ARGUMENT")


async def test_swap_max_age_above_the_operators_window_is_out_of_range(sqlite_env: CamaraEnv) -> None:
    """cucc keeps 720 h of history: maxAge 721 is OUT_OF_RANGE naming 720, and 720 is answered."""
    _, bearer = await sqlite_env.bank(SWAP_SCOPES)
    phone = await sqlite_env.subscriber("cucc", simChangedAt=_ago(sqlite_env, hours=700))
    resp = await sqlite_env.post("/sim-swap/v2/check", bearer, {"phoneNumber": phone, "maxAge": 721})
    assert_error(resp, 400, "OUT_OF_RANGE")
    assert "720" in resp.json()["message"]
    resp = await sqlite_env.post("/sim-swap/v2/check", bearer, {"phoneNumber": phone, "maxAge": 720})
    assert resp.json() == {"swapped": True}


@pytest.mark.parametrize("api", ["sim-swap/v2", "device-swap/v1"])
async def test_swap_operator_answers(sqlite_env: CamaraEnv, api: str) -> None:
    """Unknown number 404 IDENTIFIER_NOT_FOUND, ineligible 422 SERVICE_NOT_APPLICABLE, operator down 503."""
    _, bearer = await sqlite_env.bank(SWAP_SCOPES)
    unknown = f"+86{PREFIXES['cucc']}{secrets.randbelow(10**8):08d}"
    SENSITIVE.update({unknown, unknown[3:]})
    resp = await sqlite_env.post(f"/{api}/check", bearer, {"phoneNumber": unknown})
    assert_error(resp, 404, "IDENTIFIER_NOT_FOUND")
    resp = await sqlite_env.post(f"/{api}/check", bearer, {"phoneNumber": "+447700900123"})
    assert_error(resp, 404, "IDENTIFIER_NOT_FOUND")
    iot = await sqlite_env.subscriber("cucc", imei="1", eligible=False)
    for op in ("check", "retrieve-date"):
        assert_error(
            await sqlite_env.post(f"/{api}/{op}", bearer, {"phoneNumber": iot}), 422, "SERVICE_NOT_APPLICABLE"
        )
    phone = await sqlite_env.subscriber("cucc", imei="1")
    await sqlite_env.operator_down("cucc")
    assert_error(await sqlite_env.post(f"/{api}/check", bearer, {"phoneNumber": phone}), 503, "UNAVAILABLE")


async def test_device_swap_of_a_number_never_in_a_device_is_service_not_applicable(
    sqlite_env: CamaraEnv,
) -> None:
    """No device data (no imei): Device Swap check and retrieve-date are 422 SERVICE_NOT_APPLICABLE."""
    _, bearer = await sqlite_env.bank(SWAP_SCOPES)
    phone = await sqlite_env.subscriber("cmcc", simChangedAt=_ago(sqlite_env, hours=1))
    for op in ("check", "retrieve-date"):
        resp = await sqlite_env.post(f"/device-swap/v1/{op}", bearer, {"phoneNumber": phone})
        assert_error(resp, 422, "SERVICE_NOT_APPLICABLE")


@pytest.mark.parametrize(
    ("scope", "allowed", "refused"),
    [
        ("sim-swap:check", "/sim-swap/v2/check", "/sim-swap/v2/retrieve-date"),
        ("sim-swap:retrieve-date", "/sim-swap/v2/retrieve-date", "/device-swap/v1/retrieve-date"),
        ("device-swap:check", "/device-swap/v1/check", "/sim-swap/v2/check"),
        ("device-swap", "/device-swap/v1/retrieve-date", "/kyc-match/v0.4/match"),
    ],
)
async def test_swap_scopes(sqlite_env: CamaraEnv, scope: str, allowed: str, refused: str) -> None:
    """Each operation takes its own scope or the API-level one; another API's is 403 PERMISSION_DENIED."""
    _, bearer = await sqlite_env.bank([scope])
    phone = await sqlite_env.subscriber(
        "cmcc", imei="1", simChangedAt=_ago(sqlite_env, hours=1), deviceChangedAt=_ago(sqlite_env, hours=1)
    )
    assert (await sqlite_env.post(allowed, bearer, {"phoneNumber": phone})).status_code == 200
    assert_error(await sqlite_env.post(refused, bearer, {"phoneNumber": phone}), 403, "PERMISSION_DENIED")


# --- KYC Match -----------------------------------------------------------------------------------

KYC_RECORD = {
    "name": "王小明",
    "givenName": "小明",
    "familyName": "王",
    "birthdate": "1990-05-17",
    "idDocument": "11010519491231002X",
    "address": "北京市朝阳区建国路88号",
    "postalCode": "100022",
    "country": "CN",
}


async def test_kyc_match_per_attribute(env: CamaraEnv) -> None:
    """Each sent attribute gets "true"/"false"/"not_available"; scores only on scorable "false" answers."""
    creds, bearer = await env.bank(["kyc-match:match"])
    phone = await env.subscriber("ctcc", kyc=KYC_RECORD)
    resp = await env.post(
        "/kyc-match/v0.4/match",
        bearer,
        {
            "phoneNumber": phone,
            "idDocument": "11010519491231002x",
            "name": "王 小明",
            "familyName": "汪",
            "birthdate": "1990-05-18",
            "address": "北京市朝阳区建国路89号",
            "email": "wang@example.cn",
            "country": "cn",
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (
        body["idDocumentMatch"] == "true" and body["nameMatch"] == "true" and body["countryMatch"] == "true"
    )
    assert body["familyNameMatch"] == "false" and body["familyNameMatchScore"] == 0
    assert body["birthdateMatch"] == "false" and "birthdateMatchScore" not in body
    assert body["addressMatch"] == "false" and 90 <= body["addressMatchScore"] <= 99
    assert body["emailMatch"] == "not_available" and "emailMatchScore" not in body
    assert set(body) == {
        "idDocumentMatch",
        "nameMatch",
        "familyNameMatch",
        "familyNameMatchScore",
        "birthdateMatch",
        "addressMatch",
        "addressMatchScore",
        "emailMatch",
        "countryMatch",
    }
    [row] = await env.usage(creds.tenant_id)
    assert row.capability == "camara_kyc_match" and row.operator == "ctcc"


async def test_kyc_match_errors(sqlite_env: CamaraEnv) -> None:
    """Only phoneNumber 400 INVALID_PARAM_COMBINATION; idDocument mismatch 200 "false" (no operator
    requires the document); 3-legged other number 403."""
    creds, bearer = await sqlite_env.bank(["kyc-match:match"])
    phone = await sqlite_env.subscriber("cmcc", kyc=KYC_RECORD)
    resp = await sqlite_env.post("/kyc-match/v0.4/match", bearer, {"phoneNumber": phone})
    assert_error(resp, 400, "KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION")
    resp = await sqlite_env.post(
        "/kyc-match/v0.4/match",
        bearer,
        {"phoneNumber": phone, "name": "王小明", "idDocument": "110105194912310021"},
    )
    assert resp.status_code == 200 and resp.json() == {"idDocumentMatch": "false", "nameMatch": "true"}
    assert_error(
        await sqlite_env.post("/kyc-match/v0.4/match", bearer, {"name": "x"}), 422, "MISSING_IDENTIFIER"
    )

    token = sqlite_env.three_legged(creds, phone, "cmcc", ["kyc-match:match"], amr=("sms_otp",))
    other = phone[:-1] + str((int(phone[-1]) + 1) % 10)
    SENSITIVE.update({other, other[3:]})
    resp = await sqlite_env.post("/kyc-match/v0.4/match", token, {"phoneNumber": other, "name": "王小明"})
    assert_error(resp, 403, "INVALID_TOKEN_CONTEXT")
    same = await sqlite_env.post("/kyc-match/v0.4/match", token, {"phoneNumber": phone, "name": "小明 王"})
    assert same.status_code == 200 and same.json() == {"nameMatch": "true"}
    implicit = await sqlite_env.post("/kyc-match/v0.4/match", token, {"birthdate": "1990-05-17"})
    assert implicit.json() == {"birthdateMatch": "true"}


async def test_kyc_match_operator_answers(sqlite_env: CamaraEnv) -> None:
    """No customer record: 404 IDENTIFIER_NOT_FOUND; an ineligible line: 422 SERVICE_NOT_APPLICABLE."""
    _, bearer = await sqlite_env.bank(["kyc-match:match"])
    bare = await sqlite_env.subscriber("cucc")
    resp = await sqlite_env.post("/kyc-match/v0.4/match", bearer, {"phoneNumber": bare, "name": "x"})
    assert_error(resp, 404, "IDENTIFIER_NOT_FOUND")
    iot = await sqlite_env.subscriber("cucc", eligible=False, kyc=KYC_RECORD)
    resp = await sqlite_env.post("/kyc-match/v0.4/match", bearer, {"phoneNumber": iot, "name": "x"})
    assert_error(resp, 422, "SERVICE_NOT_APPLICABLE")


# --- Bad input on every CAMARA operation ---------------------------------------------------------

POST_OPERATIONS = [
    "/number-verification/v2/verify",
    "/sim-swap/v2/check",
    "/sim-swap/v2/retrieve-date",
    "/device-swap/v1/check",
    "/device-swap/v1/retrieve-date",
    "/kyc-match/v0.4/match",
]
ALL_SCOPES = [*NV_SCOPES, *SWAP_SCOPES, "kyc-match:match"]


@pytest.mark.parametrize("path", POST_OPERATIONS)
@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"[]",
        b"",
        b"null",
        b'"text"',
        b'{"phoneNumber": "+8613800138000", "unknown": 1}',
        b'{"phoneNumber": 8613800138000}',
        b'{"phoneNumber": "+86 138 0013 8000"}',
        b"\xff\xfe{}",
    ],
    ids=[
        "malformed",
        "array",
        "empty",
        "null",
        "string",
        "unknown property",
        "number type",
        "spaces",
        "not utf-8",
    ],
)
async def test_malformed_bodies_are_400_never_500(sqlite_env: CamaraEnv, path: str, raw: bytes) -> None:
    """Every malformed body on every CAMARA POST is 400 INVALID_ARGUMENT in the error shape."""
    creds, bearer = await sqlite_env.bank(ALL_SCOPES)
    if path.startswith("/number"):
        phone = await sqlite_env.subscriber("cmcc")
        bearer = sqlite_env.three_legged(creds, phone, "cmcc", ALL_SCOPES)
    resp = await sqlite_env.stack.http.post(
        f"{sqlite_env.stack.gateway_url}{path}",
        content=raw,
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
    )
    assert_error(resp, 400, "INVALID_ARGUMENT")
    assert "8613800138000" not in resp.text


@pytest.mark.parametrize("path", POST_OPERATIONS)
async def test_transport_level_errors(sqlite_env: CamaraEnv, path: str) -> None:
    """No token 401, a form body 415, a bad x-correlator 400: always the error shape, correlator echoed."""
    creds, bearer = await sqlite_env.bank(ALL_SCOPES)
    if path.startswith("/number"):
        phone = await sqlite_env.subscriber("cmcc")
        bearer = sqlite_env.three_legged(creds, phone, "cmcc", ALL_SCOPES)
    url = f"{sqlite_env.stack.gateway_url}{path}"
    assert_error(await sqlite_env.stack.http.post(url, json={}), 401, "UNAUTHENTICATED")
    resp = await sqlite_env.stack.http.post(
        url, data={"a": "b"}, headers={"Authorization": f"Bearer {bearer}", "x-correlator": "c-1"}
    )
    assert_error(resp, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert resp.headers["x-correlator"] == "c-1"
    resp = await sqlite_env.stack.http.post(
        url, json={}, headers={"Authorization": f"Bearer {bearer}", "x-correlator": "bad correlator!"}
    )
    assert_error(resp, 400, "INVALID_ARGUMENT")
