"""China Mobile's line queries and code exchange, signed here from the dialect doc, over a real socket."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from sandbox import AppCredentials, SandboxConfig
from sandbox.appkeys import STATE
from sandbox.state import AuthCode
from tests.clocks import ManualClock
from tests.sandbox.conftest import REDIRECT_URI, Call, NetworkCode, OtpCode, SandboxClient, Subscribe
from tests.sandbox.dialects import beijing17, cmcc_code_request, cmcc_query

SIM = "/cmcc/openapi/rs/simChangeQuery"
DEVICE = "/cmcc/openapi/rs/deviceChangeQuery"
CUSTOMER = "/cmcc/openapi/rs/custInfoQuery"
CODE = "/cmcc/unisdk/rsapi/authCodeValidate"
PHONE = "+8613800138000"
NATIONAL = "13800138000"
KYC = {
    "name": "李四",
    "birthdate": "1985-12-31",
    "gender": "FEMALE",
    "idDocumentExpiryDate": "2030-01-02",
    "postalCode": "200000",
    "country": "CN",
}


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def app(config: SandboxConfig) -> AppCredentials:
    return config.apps["cmcc"]


@pytest.fixture
def query(client: SandboxClient, app: AppCredentials, clock: ManualClock) -> Call:
    """POST a line query and return the answer, checking the envelope and the echoed header."""

    async def query(path: str, msisdn: str = NATIONAL, **overrides: Any) -> dict[str, Any]:
        body = cmcc_query(app, msisdn, clock.now(), **overrides)
        response = await client.post(path, json=body)
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        assert answer["header"]["msgId"] == body["header"]["msgId"]
        assert re.fullmatch(r"[0-9]{17}", answer["header"]["timestamp"])
        assert answer["body"]["resultDesc"]
        return answer

    return query


@pytest.fixture
def exchange(client: SandboxClient, app: AppCredentials, clock: ManualClock) -> Call:
    """POST a signed authCodeValidate and return the answer."""

    async def exchange(code: str, redirect_uri: str = REDIRECT_URI, **overrides: Any) -> dict[str, Any]:
        body = cmcc_code_request(app, code, redirect_uri, clock.now(), **overrides)
        response = await client.post(CODE, json=body)
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        assert answer["inresponseto"] == body["msgid"]
        return answer

    return exchange


async def test_sim_change_is_disclosed_in_beijing_time(
    subscribe: Subscribe, query: Call, clock: ManualClock
) -> None:
    """000 with the change's 17-digit Beijing time, changeType 1 and the 2400 h window."""
    changed = clock.now() - timedelta(days=2, hours=3)
    await subscribe(PHONE, "cmcc", simChangedAt=rfc3339(changed))

    answer = await query(SIM)

    assert answer["header"]["resultCode"] == "000"
    assert answer["body"]["changeTime"] == beijing17(changed)
    assert (answer["body"]["changeType"], answer["body"]["retentionHours"]) == ("1", "2400")


async def test_activation_is_reported_without_changes(
    subscribe: Subscribe, query: Call, clock: ManualClock
) -> None:
    """No SIM or device change: the activation, changeType 0, on both histories (the line has an IMEI)."""
    activated = clock.now() - timedelta(days=30)
    await subscribe(PHONE, "cmcc", activatedAt=rfc3339(activated), imei="356938035643809")

    for path in (SIM, DEVICE):
        body = (await query(path))["body"]
        assert (body["changeTime"], body["changeType"]) == (beijing17(activated), "0")


async def test_retention_window_boundary(
    subscribe: Subscribe, query: Call, clock: ManualClock, client: SandboxClient
) -> None:
    """A change exactly 2400 h old is disclosed; one millisecond older is 001 without a date."""
    await subscribe(PHONE, "cmcc", simChangedAt=rfc3339(clock.now() - timedelta(hours=2400)))
    assert (await query(SIM))["header"]["resultCode"] == "000"

    clock.advance(0.001)
    answer = await query(SIM)

    assert answer["header"]["resultCode"] == "001"
    assert answer["body"]["retentionHours"] == "2400"
    assert "changeTime" not in answer["body"]


async def test_device_history_of_a_line_never_in_a_device_is_002(
    subscribe: Subscribe, query: Call, client: SandboxClient, clock: ManualClock
) -> None:
    """No IMEI and no device change: 002; after a device swap, 000 with that change."""
    await subscribe(PHONE, "cmcc")
    assert (await query(DEVICE))["header"]["resultCode"] == "002"

    swapped = clock.now() - timedelta(hours=1)
    await client.post(f"/sandbox/subscribers/{PHONE}/device-swap", json={"at": rfc3339(swapped)})
    body = (await query(DEVICE))["body"]

    assert (body["changeTime"], body["changeType"]) == (beijing17(swapped), "1")


@pytest.mark.parametrize("path", [SIM, DEVICE, CUSTOMER])
async def test_unknown_ported_and_ineligible_numbers(subscribe: Subscribe, query: Call, path: str) -> None:
    """201 for an unregistered or another operator's number, 202 for an ineligible line."""
    await subscribe("+8618600186000", "cucc")
    await subscribe(PHONE, "cmcc", eligible=False, kyc=KYC)

    assert (await query(path, "13700137000"))["header"]["resultCode"] == "201"
    assert (await query(path, "18600186000"))["header"]["resultCode"] == "201"
    assert (await query(path))["header"]["resultCode"] == "202"


async def test_line_query_signature_app_and_parameters(
    subscribe: Subscribe, query: Call, app: AppCredentials
) -> None:
    """A wrong key is 302, another appId 103, malformed fields 102, checked in that order."""
    await subscribe(PHONE, "cmcc")

    assert (await query(SIM, key="K" * 32))["header"]["resultCode"] == "302"
    assert (await query(SIM, appId="300011999999"))["header"]["resultCode"] == "103"
    for msisdn in ("+8613800138000", "1380013800", ""):
        assert (await query(SIM, msisdn))["header"]["resultCode"] == "102"
    assert (await query(SIM, version="2.0"))["header"]["resultCode"] == "102"
    assert (await query(SIM, timestamp="2026"))["header"]["resultCode"] == "102"


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"header": {}}', b'{"header": 1, "body": {}}'])
async def test_line_query_that_is_not_the_envelope_is_102(
    client: SandboxClient, subscribe: Subscribe, body: bytes
) -> None:
    """A body that is not the documented envelope of strings answers 102."""
    response = await client.post(SIM, data=body, headers={"Content-Type": "application/json"})

    assert (await response.json())["header"]["resultCode"] == "102"


async def test_customer_record_under_china_mobile_names(subscribe: Subscribe, query: Call) -> None:
    """custInfo carries cmcc names, yyyyMMdd dates and sex codes; attributes not held are absent."""
    await subscribe(PHONE, "cmcc", kyc=KYC | {"unheardOf": "x"})

    answer = await query(CUSTOMER)

    assert answer["header"]["resultCode"] == "000"
    assert answer["body"]["custInfo"] == {
        "custName": "李四",
        "birthday": "19851231",
        "sex": "2",
        "certExpireDate": "20300102",
        "postCode": "200000",
        "countryCode": "CN",
    }


async def test_line_without_customer_record_is_203(subscribe: Subscribe, query: Call) -> None:
    """A served line with no KYC record answers 203."""
    await subscribe(PHONE, "cmcc")

    assert (await query(CUSTOMER))["header"]["resultCode"] == "203"


async def test_network_code_exchanges_once(
    subscribe: Subscribe, network_code: NetworkCode, exchange: Call
) -> None:
    """103000 with the national number and authType 2, once; the second time 103505."""
    await subscribe(PHONE, "cmcc")
    code = await network_code("cmcc", PHONE)

    answer = await exchange(code)

    assert (answer["resultCode"], answer["msisdn"], answer["authType"]) == ("103000", NATIONAL, "2")
    assert (await exchange(code))["resultCode"] == "103505"


async def test_sms_otp_code_reports_auth_type_7(
    subscribe: Subscribe, otp_code: OtpCode, exchange: Call
) -> None:
    """A code from the SMS-OTP fallback reports authType 7."""
    await subscribe(PHONE, "cmcc")

    answer = await exchange(await otp_code("cmcc", PHONE))

    assert (answer["resultCode"], answer["authType"]) == ("103000", "7")


async def test_code_is_bound_to_its_redirect_uri(
    subscribe: Subscribe, network_code: NetworkCode, exchange: Call
) -> None:
    """Another redirect_uri is 103113 and does not consume the code."""
    await subscribe(PHONE, "cmcc")
    code = await network_code("cmcc", PHONE)

    assert (await exchange(code, "https://gateway.example/oauth2/callback"))["resultCode"] == "103113"
    assert (await exchange(code))["resultCode"] == "103000"


async def test_code_lives_60_seconds(
    subscribe: Subscribe, network_code: NetworkCode, exchange: Call, clock: ManualClock
) -> None:
    """A code 60 s old is expired: 104201."""
    await subscribe(PHONE, "cmcc")
    code = await network_code("cmcc", PHONE)

    clock.advance(60)

    assert (await exchange(code))["resultCode"] == "104201"


async def test_unknown_malformed_and_foreign_codes(
    client: SandboxClient, subscribe: Subscribe, exchange: Call, clock: ManualClock
) -> None:
    """Unknown codes are 104201, malformed or another app's 103113, an empty one 103811."""
    await subscribe(PHONE, "cmcc")
    foreign = "CMAC" + "ab" * 16
    client.app[STATE].codes.issue(
        AuthCode(
            foreign,
            "cmcc",
            "300011999999",
            REDIRECT_URI,
            PHONE,
            "network",
            clock.now() + timedelta(seconds=60),
        ),
        now=clock.now(),
    )

    assert (await exchange("CMAC" + "0" * 32))["resultCode"] == "104201"
    assert (await exchange("STsid" + "0" * 32))["resultCode"] == "103113"
    assert (await exchange(foreign))["resultCode"] == "103113"
    assert (await exchange(""))["resultCode"] == "103811"


async def test_code_exchange_signature_and_app(
    subscribe: Subscribe,
    network_code: NetworkCode,
    exchange: Call,
    client: SandboxClient,
    app: AppCredentials,
    clock: ManualClock,
) -> None:
    """A wrong key is 103101 and leaves the code usable; another appid 103119; a non-object 103101."""
    await subscribe(PHONE, "cmcc")
    code = await network_code("cmcc", PHONE)

    assert (await exchange(code, key="K" * 32))["resultCode"] == "103101"
    other_app = cmcc_code_request(app, code, REDIRECT_URI, clock.now()) | {"appid": "300011999999"}
    assert (await (await client.post(CODE, json=other_app)).json())["resultCode"] == "103119"
    missing = cmcc_code_request(app, code, REDIRECT_URI, clock.now())
    del missing["redirect_uri"]
    assert (await (await client.post(CODE, json=missing)).json())["resultCode"] == "103101"
    assert (await (await client.post(CODE, data=b"[1]")).json())["resultCode"] == "103101"
    assert (await exchange(code))["resultCode"] == "103000"
