"""China Mobile's dialect, driven over a real socket with requests signed here from the dialect doc."""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sandbox import AppCredentials, SandboxConfig
from sandbox.appkeys import STATE
from tests.clocks import ManualClock
from tests.sandbox.conftest import Call, OneTapToken, SandboxClient, Subscribe

LOGIN = "/cmcc/unisdk/rsapi/loginTokenValidate"
CHECK = "/cmcc/openapi/rs/tokenValidate"
PHONE = "+8613800138000"
NATIONAL = "13800138000"
TIMESTAMP = "20260302093015250"
Check = Callable[..., Awaitable[str]]


def login_body(app_id: str, app_key: str, token: str, *, msgid: str = "msg-1") -> dict[str, str]:
    fields = {
        "version": "2.0",
        "msgid": msgid,
        "systemtime": TIMESTAMP,
        "strictcheck": "0",
        "appid": app_id,
        "token": token,
    }
    plain = "".join(
        fields[name] for name in ("appid", "version", "msgid", "systemtime", "strictcheck", "token")
    )
    fields["sign"] = hashlib.md5((plain + app_key).encode()).hexdigest().upper()  # noqa: S324 - the dialect
    return fields


def check_body(app_id: str, app_key: str, token: str, national: str) -> dict[str, Any]:
    msg_id = uuid.uuid4().hex
    phone_num = hashlib.sha256((national + app_key + TIMESTAMP).encode()).hexdigest().upper()
    message = app_id + msg_id + phone_num + TIMESTAMP + token + "1.0"
    sign = hmac.new(app_key.encode(), message.encode(), hashlib.sha256).hexdigest().upper()
    return {
        "header": {"version": "1.0", "msgId": msg_id, "timestamp": TIMESTAMP, "appId": app_id},
        "body": {
            "openType": "1",
            "requesterType": "0",
            "keyType": "0",
            "token": token,
            "phoneNum": phone_num,
            "sign": sign,
        },
    }


@pytest.fixture
def app(config: SandboxConfig) -> AppCredentials:
    return config.apps["cmcc"]


@pytest.fixture
def login(client: SandboxClient, app: AppCredentials) -> Call:
    async def login(token: str, **overrides: str) -> dict[str, Any]:
        body = login_body(app.app_id, app.app_key, token)
        response = await client.post(LOGIN, json={**body, **overrides})
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        return answer

    return login


@pytest.fixture
def check(client: SandboxClient, app: AppCredentials) -> Check:
    async def check(token: str, national: str = NATIONAL, *, app_key: str | None = None) -> str:
        body = check_body(app.app_id, app_key or app.app_key, token, national)
        response = await client.post(CHECK, json=body)
        assert response.status == 200
        answer = await response.json()
        assert answer["header"]["msgId"] == body["header"]["msgId"]
        code: str = answer["header"]["resultCode"]
        return code

    return check


@pytest.fixture(autouse=True)
async def subscriber(subscribe: Subscribe) -> None:
    await subscribe(PHONE, "cmcc")


async def test_login_returns_national_number_and_auth_type(login: Call, one_tap_token: OneTapToken) -> None:
    """A login token is exchanged for the national number, auth type 2 and the echoed msgid."""
    answer = await login(await one_tap_token(PHONE, "login"))
    assert answer["resultCode"] == "103000"
    assert answer["msisdn"] == NATIONAL
    assert answer["authType"] == "2"
    assert answer["inresponseto"] == "msg-1"
    assert answer["systemtime"] == "20260302093015250"


async def test_login_reports_sms_uplink(login: Call, one_tap_token: OneTapToken) -> None:
    """A token obtained by SMS uplink reports auth type 3."""
    answer = await login(await one_tap_token(PHONE, "login", method="sms"))
    assert (answer["resultCode"], answer["authType"]) == ("103000", "3")


async def test_a_phone_on_wifi_gets_sms_uplink_tokens_unless_it_asks_for_network(
    login: Call, one_tap_token: OneTapToken, client: SandboxClient
) -> None:
    """PUT {"network": "wifi"}: the SDK's token, asked without a method, reports auth type 3 (SMS
    uplink); asked with method "network" it still reports 2."""
    assert (await client.put(f"/sandbox/devices/{PHONE}", json={"network": "wifi"})).status == 200
    assert (await login(await one_tap_token(PHONE, "login")))["authType"] == "3"
    assert (await login(await one_tap_token(PHONE, "login", method="network")))["authType"] == "2"


async def test_login_token_shapes(one_tap_token: OneTapToken) -> None:
    """Login and verify tokens start with STsid, H5 tokens with H5HTTPS, each followed by 32 hex chars."""
    for purpose, prefix in (("login", "STsid"), ("verify", "STsid"), ("h5", "H5HTTPS")):
        assert re.fullmatch(prefix + "[0-9a-fA-F]{32}", await one_tap_token(PHONE, purpose))


async def test_login_rejects_expired_token(
    login: Call, one_tap_token: OneTapToken, clock: ManualClock
) -> None:
    """A token older than 120 s answers 104201."""
    token = await one_tap_token(PHONE, "login")
    clock.advance(120)
    assert (await login(token))["resultCode"] == "104201"


async def test_login_accepts_token_just_before_expiry(
    login: Call, one_tap_token: OneTapToken, clock: ManualClock
) -> None:
    """A token 119 s old is still accepted."""
    token = await one_tap_token(PHONE, "login")
    clock.advance(119)
    assert (await login(token))["resultCode"] == "103000"


async def test_login_rejects_replay(login: Call, one_tap_token: OneTapToken) -> None:
    """Presenting a token a second time answers 103505 and no number."""
    token = await one_tap_token(PHONE, "login")
    assert (await login(token))["resultCode"] == "103000"
    answer = await login(token)
    assert answer["resultCode"] == "103505"
    assert "msisdn" not in answer


async def test_login_rejects_another_apps_token(login: Call, one_tap_token: OneTapToken) -> None:
    """A token minted for another app id answers 103113."""
    assert (await login(await one_tap_token(PHONE, "login", appId="300011999999")))["resultCode"] == "103113"


async def test_login_rejects_verify_token(login: Call, check: Check, one_tap_token: OneTapToken) -> None:
    """A verify token at the login endpoint answers 103113 and stays usable for a check."""
    token = await one_tap_token(PHONE, "verify")
    assert (await login(token))["resultCode"] == "103113"
    assert await check(token) == "000"


async def test_login_rejects_another_operators_token(
    login: Call, one_tap_token: OneTapToken, subscribe: Subscribe
) -> None:
    """A China Unicom token cannot be parsed by China Mobile: 103113."""
    await subscribe("+8618600186000", "cucc")
    assert (await login(await one_tap_token("+8618600186000", "login")))["resultCode"] == "103113"


async def test_login_rejects_unknown_well_formed_token(login: Call) -> None:
    """A well-formed token China Mobile never issued answers 104201 (absent)."""
    assert (await login("STsid" + "0" * 32))["resultCode"] == "104201"


async def test_login_rejects_bad_signature(login: Call, one_tap_token: OneTapToken) -> None:
    """A wrong sign answers 103101 and leaves the token unused."""
    token = await one_tap_token(PHONE, "login")
    assert (await login(token, sign="0" * 32))["resultCode"] == "103101"
    assert (await login(token))["resultCode"] == "103000"


async def test_login_rejects_lowercase_signature(
    login: Call, one_tap_token: OneTapToken, app: AppCredentials
) -> None:
    """The sign must be uppercase hex."""
    body = login_body(app.app_id, app.app_key, await one_tap_token(PHONE, "login"))
    assert (await login(body["token"], sign=body["sign"].lower()))["resultCode"] == "103101"


async def test_login_rejects_unknown_app_id(login: Call, one_tap_token: OneTapToken) -> None:
    """An appid China Mobile does not know answers 103119."""
    assert (await login(await one_tap_token(PHONE, "login"), appid="300011000000"))["resultCode"] == "103119"


async def test_login_rejects_empty_token(login: Call) -> None:
    """An empty token answers 103811."""
    assert (await login(""))["resultCode"] == "103811"


async def test_login_answers_unreadable_body_with_sign_error(client: SandboxClient) -> None:
    """A body that is not JSON answers HTTP 200 with 103101."""
    response = await client.post(LOGIN, data=b"{not json")
    assert response.status == 200
    answer = await response.json()
    assert answer["resultCode"] == "103101"
    assert answer["inresponseto"] == ""


async def test_check_matches_the_tokens_phone(check: Check, one_tap_token: OneTapToken) -> None:
    """A verify token checked against its own phone answers 000."""
    assert await check(await one_tap_token(PHONE, "verify")) == "000"


async def test_check_accepts_h5_token(check: Check, one_tap_token: OneTapToken) -> None:
    """An H5 token is accepted by the number check."""
    assert await check(await one_tap_token(PHONE, "h5")) == "000"


async def test_check_reports_another_number(check: Check, one_tap_token: OneTapToken) -> None:
    """A verify token checked against another number answers 001."""
    assert await check(await one_tap_token(PHONE, "verify"), "13900139000") == "001"


async def test_check_rejects_login_token(check: Check, one_tap_token: OneTapToken) -> None:
    """A login token at the check answers 606."""
    assert await check(await one_tap_token(PHONE, "login")) == "606"


async def test_check_rejects_expired_replayed_and_foreign_tokens(
    check: Check, one_tap_token: OneTapToken, clock: ManualClock
) -> None:
    """Expired, reused and another app's tokens all answer 606."""
    replayed = await one_tap_token(PHONE, "verify")
    assert await check(replayed) == "000"
    assert await check(replayed) == "606"
    assert await check(await one_tap_token(PHONE, "verify", appId="300011999999")) == "606"
    expired = await one_tap_token(PHONE, "verify")
    clock.advance(121)
    assert await check(expired) == "606"


async def test_check_rejects_bad_signature(
    client: SandboxClient, app: AppCredentials, one_tap_token: OneTapToken
) -> None:
    """A sign made with another key answers 302."""
    body = check_body(app.app_id, "k" * 32, await one_tap_token(PHONE, "verify"), NATIONAL)
    answer = await (await client.post(CHECK, json=body)).json()
    assert answer["header"]["resultCode"] == "302"


async def test_check_rejects_unknown_app_id(
    client: SandboxClient, app: AppCredentials, one_tap_token: OneTapToken
) -> None:
    """An appId China Mobile does not know answers 103."""
    body = check_body("300011000000", app.app_key, await one_tap_token(PHONE, "verify"), NATIONAL)
    answer = await (await client.post(CHECK, json=body)).json()
    assert answer["header"]["resultCode"] == "103"
    assert answer["header"]["appId"] == "300011000000"


async def test_check_rejects_bad_parameters(
    client: SandboxClient, app: AppCredentials, one_tap_token: OneTapToken
) -> None:
    """A missing body field or an unreadable body answers 102 in the envelope."""
    body = check_body(app.app_id, app.app_key, await one_tap_token(PHONE, "verify"), NATIONAL)
    del body["body"]["phoneNum"]
    for payload in ({"json": body}, {"data": b"]"}):
        response = await client.post(CHECK, **payload)
        assert response.status == 200
        answer = await response.json()
        assert answer["header"]["resultCode"] == "102"
        assert answer["body"]["resultDesc"]


async def test_check_answers_unknown_when_subscriber_is_gone(
    client: SandboxClient, check: Check, one_tap_token: OneTapToken
) -> None:
    """A valid token whose subscriber was removed since minting answers 002."""
    token = await one_tap_token(PHONE, "verify")
    del client.app[STATE].subscribers[PHONE]
    assert await check(token) == "002"
