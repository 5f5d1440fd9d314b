"""China Telecom's line queries and code exchange, signed here from the dialect doc, over a real socket."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from sandbox import AppCredentials, SandboxConfig
from sandbox.appkeys import STATE
from sandbox.state import AuthCode
from tests.clocks import ManualClock
from tests.sandbox.conftest import REDIRECT_URI, Call, NetworkCode, OtpCode, SandboxClient, Subscribe
from tests.sandbox.dialects import BEIJING, ctcc_form, epoch_ms

SIM = "/ctcc/openapi/lineinfo/querySimChange.do"
DEVICE = "/ctcc/openapi/lineinfo/queryDeviceChange.do"
REAL_NAME = "/ctcc/openapi/lineinfo/queryRealName.do"
CODE = "/ctcc/openapi/oauth/getMobileByCode.do"
PHONE = "+8618900189000"
NATIONAL = "18900189000"


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def beijing_seconds(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def app(config: SandboxConfig) -> AppCredentials:
    return config.apps["ctcc"]


@pytest.fixture
def call(client: SandboxClient, app: AppCredentials, clock: ManualClock) -> Call:
    """POST a signed form whose params are ``plaintext``; ``key``/form fields override before signing."""

    async def call(path: str, plaintext: str, **overrides: Any) -> dict[str, Any]:
        response = await client.post(path, data=ctcc_form(app, plaintext, clock.now(), **overrides))
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        assert isinstance(answer["result"], int)
        assert answer["reqId"]
        return answer

    return call


@pytest.fixture
def exchange(call: Call) -> Call:
    async def exchange(code: str, redirect_uri: str = REDIRECT_URI, **overrides: Any) -> dict[str, Any]:
        return await call(CODE, f"code={code}&returnUrl={quote(redirect_uri, safe='')}", **overrides)

    return exchange


async def test_sim_change_is_disclosed_in_beijing_seconds(
    subscribe: Subscribe, call: Call, clock: ManualClock
) -> None:
    """result 0 with changeTime in Beijing 'yyyy-MM-dd HH:mm:ss', changeType 1, retainDays 60."""
    changed = clock.now() - timedelta(days=59)
    await subscribe(PHONE, "ctcc", simChangedAt=rfc3339(changed))

    answer = await call(SIM, f"mobile={NATIONAL}")

    assert answer["result"] == 0
    assert answer["data"] == {"changeTime": beijing_seconds(changed), "changeType": "1", "retainDays": "60"}


async def test_activation_and_no_device_record(subscribe: Subscribe, call: Call, clock: ManualClock) -> None:
    """Without changes the activation with changeType 0; a line never in a device is -30001."""
    activated = clock.now() - timedelta(days=1)
    await subscribe(PHONE, "ctcc", activatedAt=rfc3339(activated))

    sim = await call(SIM, f"mobile={NATIONAL}")
    device = await call(DEVICE, f"mobile={NATIONAL}")

    assert (sim["data"]["changeTime"], sim["data"]["changeType"]) == (beijing_seconds(activated), "0")
    assert device["result"] == -30001


async def test_retention_window_boundary(subscribe: Subscribe, call: Call, clock: ManualClock) -> None:
    """Exactly 1440 h old is disclosed; 1 ms older answers empty changeTime and changeType."""
    await subscribe(PHONE, "ctcc", activatedAt=rfc3339(clock.now() - timedelta(hours=1440)))
    assert (await call(SIM, f"mobile={NATIONAL}"))["data"]["changeType"] == "0"

    clock.advance(0.001)

    answer = await call(SIM, f"mobile={NATIONAL}")
    assert (answer["result"], answer["data"]) == (0, {"changeTime": "", "changeType": "", "retainDays": "60"})


@pytest.mark.parametrize("path", [SIM, DEVICE, REAL_NAME])
async def test_unknown_ported_and_ineligible_numbers(subscribe: Subscribe, call: Call, path: str) -> None:
    """-20008 for an unregistered or another operator's number, -30002 for an ineligible line."""
    await subscribe("+8613800138000", "cmcc")
    await subscribe(PHONE, "ctcc", eligible=False, kyc={"name": "x"})

    assert (await call(path, "mobile=18900189999"))["result"] == -20008
    assert (await call(path, "mobile=13800138000"))["result"] == -20008
    assert (await call(path, f"mobile={NATIONAL}"))["result"] == -30002


async def test_line_query_request_checks(subscribe: Subscribe, call: Call, clock: ManualClock) -> None:
    """Wrong key -64, stale timestamp -10002, other appId -10003, missing or malformed mobile -10001."""
    await subscribe(PHONE, "ctcc")

    assert (await call(SIM, f"mobile={NATIONAL}", key="K" * 32))["result"] == -64
    stale = str(epoch_ms(clock.now()) + 300_001)
    assert (await call(SIM, f"mobile={NATIONAL}", timeStamp=stale))["result"] == -10002
    assert (await call(SIM, f"mobile={NATIONAL}", appId="8000000000"))["result"] == -10003
    assert (await call(SIM, "accessCode=x"))["result"] == -10001
    assert (await call(SIM, "mobile=+8618900189000"))["result"] == -10001


async def test_customer_record_under_china_telecom_names(subscribe: Subscribe, call: Call) -> None:
    """Record fields are ctcc names with yyyyMMdd dates and M/F/O genders."""
    await subscribe(
        PHONE,
        "ctcc",
        kyc={"givenName": "六", "birthdate": "1970-07-01", "gender": "MALE", "idDocument": "X1"},
    )

    answer = await call(REAL_NAME, f"mobile={NATIONAL}")

    assert answer["result"] == 0
    assert answer["data"] == {"given_name": "六", "birth_date": "19700701", "gender": "M", "cert_num": "X1"}


async def test_line_without_customer_record_is_minus_30003(subscribe: Subscribe, call: Call) -> None:
    """A served line with no KYC record answers -30003."""
    await subscribe(PHONE, "ctcc")

    assert (await call(REAL_NAME, f"mobile={NATIONAL}"))["result"] == -30003


async def test_codes_exchange_once_with_their_auth_mode(
    subscribe: Subscribe, network_code: NetworkCode, otp_code: OtpCode, exchange: Call
) -> None:
    """The plain number and authMode 1 (enrichment) / 2 (SMS code); a second exchange is -20006."""
    await subscribe(PHONE, "ctcc")
    network = await network_code("ctcc", PHONE)
    otp = await otp_code("ctcc", PHONE)

    assert (await exchange(network))["data"] == {"mobile": NATIONAL, "authMode": "1"}
    assert (await exchange(otp))["data"] == {"mobile": NATIONAL, "authMode": "2"}
    assert (await exchange(network))["result"] == -20006


async def test_return_url_with_query_is_percent_encoded(
    subscribe: Subscribe, network_code: NetworkCode, exchange: Call
) -> None:
    """A returnUrl holding '&' and '=' travels percent-encoded and matches the authorize request's."""
    await subscribe(PHONE, "ctcc")
    redirect = "https://gateway.example/cb?a=1&b=2"
    code = await network_code("ctcc", PHONE, redirect_uri=redirect)

    assert (await exchange(code, redirect))["result"] == 0


async def test_code_exchange_refusals(
    client: SandboxClient,
    subscribe: Subscribe,
    network_code: NetworkCode,
    exchange: Call,
    call: Call,
    clock: ManualClock,
) -> None:
    """Other returnUrl -20009 (not consumed), unknown -20005, foreign -20007, 30 s lifetime, bad params."""
    await subscribe(PHONE, "ctcc")
    code = await network_code("ctcc", PHONE)
    foreign = "CTAC" + "a" * 40
    client.app[STATE].codes.issue(
        AuthCode(
            foreign, "ctcc", "8000000000", REDIRECT_URI, PHONE, "network", clock.now() + timedelta(seconds=60)
        ),
        now=clock.now(),
    )

    assert (await exchange(code, "https://gateway.example/x"))["result"] == -20009
    assert (await exchange("CTAC" + "0" * 40))["result"] == -20005
    assert (await exchange(foreign))["result"] == -20007
    assert (await call(CODE, f"code={code}"))["result"] == -10001
    assert (await exchange(code, key="K" * 32))["result"] == -64
    clock.advance(30)
    assert (await exchange(code))["result"] == -20005
