"""China Unicom's line queries and code exchange, signed here from the dialect doc, over a real socket."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from sandbox import AppCredentials, SandboxConfig
from sandbox.appkeys import STATE
from sandbox.state import AuthCode
from tests.clocks import ManualClock
from tests.sandbox.conftest import REDIRECT_URI, Call, NetworkCode, OtpCode, SandboxClient, Subscribe
from tests.sandbox.dialects import cucc_decrypt, cucc_encrypt, cucc_signed, epoch_ms

SIM = "/cucc/openapi/lineinfo/v1/simchange"
DEVICE = "/cucc/openapi/lineinfo/v1/devicechange"
REAL_NAME = "/cucc/openapi/lineinfo/v1/realname"
CODE = "/cucc/openapi/netauth/v2/code"
PHONE = "+8618600186000"
NATIONAL = "18600186000"


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def app(config: SandboxConfig) -> AppCredentials:
    return config.apps["cucc"]


@pytest.fixture
def post(client: SandboxClient) -> Call:
    async def post(path: str, body: Any) -> dict[str, Any]:
        response = await client.post(path, json=body)
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        assert answer["seqId"]
        return answer

    return post


@pytest.fixture
def query(post: Call, app: AppCredentials, clock: ManualClock) -> Call:
    """A signed line query for ``national`` (encrypted); ``key``/other fields override before signing."""

    async def query(path: str, national: str = NATIONAL, **overrides: Any) -> dict[str, Any]:
        return await post(
            path, cucc_signed(app, clock.now(), mobile=cucc_encrypt(app.app_key, national), **overrides)
        )

    return query


@pytest.fixture
def exchange(post: Call, app: AppCredentials, clock: ManualClock) -> Call:
    async def exchange(code: str, redirect_uri: str = REDIRECT_URI, **overrides: Any) -> dict[str, Any]:
        return await post(
            CODE, cucc_signed(app, clock.now(), code=code, redirectUri=redirect_uri, **overrides)
        )

    return exchange


async def test_sim_change_is_disclosed_in_epoch_milliseconds(
    subscribe: Subscribe, query: Call, clock: ManualClock
) -> None:
    """Status 1 with the change in epoch ms, changeType swap and the 720 h window."""
    changed = clock.now() - timedelta(days=29)
    await subscribe(PHONE, "cucc", simChangedAt=rfc3339(changed))

    answer = await query(SIM)

    assert answer["code"] == "0000"
    assert answer["data"] == {
        "status": "1",
        "windowHours": "720",
        "changeTime": str(epoch_ms(changed)),
        "changeType": "swap",
    }


async def test_activation_and_no_record(subscribe: Subscribe, query: Call, clock: ManualClock) -> None:
    """Without changes the SIM history is the activation; a line never in a device has status 3."""
    activated = clock.now() - timedelta(hours=1)
    await subscribe(PHONE, "cucc", activatedAt=rfc3339(activated))

    sim = (await query(SIM))["data"]
    device = (await query(DEVICE))["data"]

    assert (sim["changeTime"], sim["changeType"]) == (str(epoch_ms(activated)), "activation")
    assert device == {"status": "3", "windowHours": "720"}


async def test_retention_window_boundary(subscribe: Subscribe, query: Call, clock: ManualClock) -> None:
    """Exactly 720 h old is disclosed; 1 ms older is status 2 without a date."""
    await subscribe(
        PHONE, "cucc", imei="356938035643809", deviceChangedAt=rfc3339(clock.now() - timedelta(hours=720))
    )
    assert (await query(DEVICE))["data"]["status"] == "1"

    clock.advance(0.001)

    assert (await query(DEVICE))["data"] == {"status": "2", "windowHours": "720"}


@pytest.mark.parametrize("path", [SIM, DEVICE, REAL_NAME])
async def test_unknown_ported_and_ineligible_numbers(subscribe: Subscribe, query: Call, path: str) -> None:
    """3001 for an unregistered or another operator's number, 3002 for an ineligible line."""
    await subscribe("+8613800138000", "cmcc")
    await subscribe(PHONE, "cucc", eligible=False, kyc={"name": "x"})

    assert (await query(path, "18600186999"))["code"] == "3001"
    assert (await query(path, "13800138000"))["code"] == "3001"
    assert (await query(path))["code"] == "3002"


async def test_line_query_request_checks(
    subscribe: Subscribe, query: Call, app: AppCredentials, clock: ManualClock, post: Call
) -> None:
    """Wrong key 1001, stale timestamp 1002, other appId 1003, bad or undecryptable mobile 1004."""
    await subscribe(PHONE, "cucc")

    assert (await query(SIM, key="K" * 32))["code"] == "1001"
    assert (await query(SIM, timestamp=str(epoch_ms(clock.now()) - 300_001)))["code"] == "1002"
    assert (await query(SIM, appId="99166000000000"))["code"] == "1003"
    assert (await post(SIM, cucc_signed(app, clock.now(), mobile="00" * 16)))["code"] == "1004"
    assert (await post(SIM, cucc_signed(app, clock.now())))["code"] == "1004"


async def test_customer_record_is_encrypted_json_under_kyc_names(
    subscribe: Subscribe, query: Call, app: AppCredentials
) -> None:
    """The record decrypts to a JSON object of the KYC Match names; unknown seed attributes are not held."""
    kyc = {"name": "王五", "birthdate": "2000-02-29", "gender": "OTHER", "email": "w@example.com"}
    await subscribe(PHONE, "cucc", kyc=kyc | {"unheardOf": "x"})

    answer = await query(REAL_NAME)

    assert answer["code"] == "0000"
    assert json.loads(cucc_decrypt(app.app_key, answer["data"]["record"])) == kyc


async def test_line_without_customer_record_is_3003(subscribe: Subscribe, query: Call) -> None:
    """A served line with no KYC record answers 3003."""
    await subscribe(PHONE, "cucc")

    assert (await query(REAL_NAME))["code"] == "3003"


async def test_codes_exchange_once_with_their_method(
    subscribe: Subscribe, network_code: NetworkCode, otp_code: OtpCode, exchange: Call, app: AppCredentials
) -> None:
    """Success data: the encrypted number and authMethod network / sms_otp; a second exchange is 2002."""
    await subscribe(PHONE, "cucc")
    network = await network_code("cucc", PHONE)
    otp = await otp_code("cucc", PHONE)

    first, second = await exchange(network), await exchange(otp)

    assert first["code"] == second["code"] == "0000"
    assert cucc_decrypt(app.app_key, first["data"]["mobile"]) == NATIONAL
    assert (first["data"]["authMethod"], second["data"]["authMethod"]) == ("network", "sms_otp")
    assert (await exchange(network))["code"] == "2002"


async def test_code_exchange_refusals(
    client: SandboxClient, subscribe: Subscribe, network_code: NetworkCode, exchange: Call, clock: ManualClock
) -> None:
    """Other redirectUri 2005 (not consumed), unknown/malformed 2001, another app's 2003, expired 2001."""
    await subscribe(PHONE, "cucc")
    code = await network_code("cucc", PHONE)
    foreign = "CUAC" + "A" * 40
    client.app[STATE].codes.issue(
        AuthCode(
            foreign,
            "cucc",
            "99166000000000",
            REDIRECT_URI,
            PHONE,
            "network",
            clock.now() + timedelta(seconds=60),
        ),
        now=clock.now(),
    )

    assert (await exchange(code, "https://gateway.example/x"))["code"] == "2005"
    assert (await exchange("CUAC" + "B" * 40))["code"] == "2001"
    assert (await exchange("CMAC" + "0" * 32))["code"] == "2001"
    assert (await exchange(foreign))["code"] == "2003"
    assert (await exchange(code, key="K" * 32))["code"] == "1001"
    clock.advance(60)
    assert (await exchange(code))["code"] == "2001"


async def test_code_exchange_needs_every_field(
    subscribe: Subscribe, network_code: NetworkCode, post: Call, app: AppCredentials, clock: ManualClock
) -> None:
    """A missing redirectUri or code is 1004."""
    await subscribe(PHONE, "cucc")
    code = await network_code("cucc", PHONE)

    assert (await post(CODE, cucc_signed(app, clock.now(), code=code)))["code"] == "1004"
    assert (await post(CODE, cucc_signed(app, clock.now(), redirectUri=REDIRECT_URI)))["code"] == "1004"
