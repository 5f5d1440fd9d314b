"""China Telecom's dialect, driven over a real socket with requests signed here from the dialect doc."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sandbox import AppCredentials, SandboxConfig
from sandbox.appkeys import STATE
from tests.clocks import ManualClock
from tests.sandbox.conftest import Call, OneTapToken, SandboxClient, Subscribe

LOGIN = "/ctcc/openapi/networkauth/getMobile.do"
CHECK = "/ctcc/openapi/networkauth/verifyMobile.do"
PHONE = "+8618900189000"
NATIONAL = "18900189000"


def encrypt_params(app_key: str, plaintext: str) -> str:
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(app_key.encode()[:16]), modes.ECB()).encryptor()  # noqa: S305 - the dialect
    padded = padder.update(plaintext.encode()) + padder.finalize()
    return (encryptor.update(padded) + encryptor.finalize()).hex().upper()


def signed(app_key: str, form: dict[str, str]) -> dict[str, str]:
    message = "".join(
        form[name] for name in ("appId", "clientType", "format", "params", "timeStamp", "version")
    )
    return {**form, "sign": hmac.new(app_key.encode(), message.encode(), hashlib.sha1).hexdigest().upper()}


def epoch_ms(clock: ManualClock) -> int:
    """Callers stamp requests with a clock synchronised with the operator's."""
    return int(clock.now().timestamp() * 1000)


@pytest.fixture
def app(config: SandboxConfig) -> AppCredentials:
    return config.apps["ctcc"]


@pytest.fixture
def call(client: SandboxClient, app: AppCredentials, clock: ManualClock) -> Call:
    """Post a signed form; ``plaintext`` becomes ``params``; other fields override before signing."""

    async def call(
        path: str,
        plaintext: str,
        *,
        params_key: str | None = None,
        sign_key: str | None = None,
        **fields: str,
    ) -> dict[str, Any]:
        form = {
            "appId": app.app_id,
            "clientType": "30100",
            "format": "json",
            "version": "3.0",
            "timeStamp": str(epoch_ms(clock)),
            "params": encrypt_params(params_key or app.app_key, plaintext),
            **fields,
        }
        response = await client.post(path, data=signed(sign_key or app.app_key, form))
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        assert isinstance(answer["result"], int)
        assert answer["reqId"]
        return answer

    return call


@pytest.fixture
def login(call: Call) -> Call:
    async def login(token: str, **fields: str) -> dict[str, Any]:
        return await call(LOGIN, f"accessCode={token}", **fields)

    return login


@pytest.fixture
def check(call: Call) -> Call:
    async def check(token: str, national: str = NATIONAL) -> dict[str, Any]:
        return await call(CHECK, f"accessCode={token}&mobile={national}")

    return check


@pytest.fixture(autouse=True)
async def subscriber(subscribe: Subscribe) -> None:
    await subscribe(PHONE, "ctcc")


async def test_login_returns_plain_number_and_auth_type(login: Call, one_tap_token: OneTapToken) -> None:
    """A login token is exchanged for the plain national number and the auth type."""
    answer = await login(await one_tap_token(PHONE, "login"))
    assert answer["result"] == 0
    assert answer["data"] == {"mobile": NATIONAL, "authType": "network"}


async def test_token_shape(one_tap_token: OneTapToken) -> None:
    """Tokens are CTA0 followed by 40 hex characters."""
    assert re.fullmatch(r"CTA0[0-9a-fA-F]{40}", await one_tap_token(PHONE, "login"))


async def test_check_matches(check: Call, one_tap_token: OneTapToken) -> None:
    """A verify token checked against its own phone answers isVerify 1."""
    answer = await check(await one_tap_token(PHONE, "verify"))
    assert (answer["result"], answer["data"]) == (0, {"isVerify": "1"})


async def test_check_does_not_match_another_number(check: Call, one_tap_token: OneTapToken) -> None:
    """An H5 token checked against an unregistered number answers isVerify 0."""
    answer = await check(await one_tap_token(PHONE, "h5"), "18900189001")
    assert (answer["result"], answer["data"]) == (0, {"isVerify": "0"})


async def test_check_rejects_another_operators_subscriber(
    check: Call, one_tap_token: OneTapToken, subscribe: Subscribe
) -> None:
    """A number registered with China Unicom answers -20008, and the token is consumed."""
    await subscribe("+8618600186000", "cucc")
    token = await one_tap_token(PHONE, "verify")
    assert (await check(token, "18600186000"))["result"] == -20008
    assert (await check(token))["result"] == -20006


async def test_check_answers_unknown_when_subscriber_is_gone(
    client: SandboxClient, check: Call, one_tap_token: OneTapToken
) -> None:
    """A valid token whose subscriber was removed since minting answers isVerify 2."""
    token = await one_tap_token(PHONE, "verify")
    del client.app[STATE].subscribers[PHONE]
    assert (await check(token))["data"] == {"isVerify": "2"}


async def test_rejects_expired_token(login: Call, one_tap_token: OneTapToken, clock: ManualClock) -> None:
    """A token older than 600 s answers -20005."""
    token = await one_tap_token(PHONE, "login")
    clock.advance(600)
    assert (await login(token))["result"] == -20005


async def test_rejects_replay(login: Call, one_tap_token: OneTapToken) -> None:
    """Presenting a token a second time answers -20006."""
    token = await one_tap_token(PHONE, "login")
    assert (await login(token))["result"] == 0
    answer = await login(token)
    assert (answer["result"], answer["data"]) == (-20006, {})


async def test_rejects_another_apps_token(login: Call, one_tap_token: OneTapToken) -> None:
    """A token minted for another app id answers -20007."""
    assert (await login(await one_tap_token(PHONE, "login", appId="8000000001")))["result"] == -20007


async def test_rejects_wrong_purpose(login: Call, check: Call, one_tap_token: OneTapToken) -> None:
    """A verify token at login and a login token at the check answer -20007."""
    assert (await login(await one_tap_token(PHONE, "verify")))["result"] == -20007
    assert (await check(await one_tap_token(PHONE, "login")))["result"] == -20007


async def test_rejects_another_operators_token(
    login: Call, one_tap_token: OneTapToken, subscribe: Subscribe
) -> None:
    """A China Mobile token answers -20005."""
    await subscribe("+8613800138000", "cmcc")
    assert (await login(await one_tap_token("+8613800138000", "login")))["result"] == -20005


async def test_rejects_bad_signature(call: Call, one_tap_token: OneTapToken) -> None:
    """A form signed with another key answers -64 and leaves the token unused."""
    token = await one_tap_token(PHONE, "login")
    assert (await call(LOGIN, f"accessCode={token}", sign_key="k" * 32))["result"] == -64
    assert (await call(LOGIN, f"accessCode={token}"))["result"] == 0


async def test_rejects_unknown_app_id(login: Call, one_tap_token: OneTapToken) -> None:
    """An appId China Telecom does not know answers -10003."""
    assert (await login(await one_tap_token(PHONE, "login"), appId="8000000001"))["result"] == -10003


@pytest.mark.parametrize("skew_ms", [-301_000, 301_000])
async def test_rejects_timestamp_outside_window(
    login: Call, one_tap_token: OneTapToken, clock: ManualClock, skew_ms: int
) -> None:
    """A correctly signed request more than 300 s from the operator's clock answers -10002."""
    timestamp = str(epoch_ms(clock) + skew_ms)
    assert (await login(await one_tap_token(PHONE, "login"), timeStamp=timestamp))["result"] == -10002


async def test_rejects_bad_parameters(
    client: SandboxClient, call: Call, login: Call, one_tap_token: OneTapToken
) -> None:
    """Foreign-key params, no mobile, a wrong clientType, a JSON or a non-UTF-8 body answer -10001."""
    token = await one_tap_token(PHONE, "verify")
    foreign = await call(CHECK, f"accessCode={token}&mobile={NATIONAL}", params_key="k" * 32)
    assert foreign["result"] == -10001
    assert (await call(CHECK, f"accessCode={token}"))["result"] == -10001
    assert (await login(token, clientType="1"))["result"] == -10001
    response = await client.post(LOGIN, json={"appId": "x"})
    assert response.status == 200
    assert (await response.json())["result"] == -10001
    response = await client.post(
        LOGIN, data=b"appId=%ff\xff", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (await response.json())["result"] == -10001
    assert (await call(CHECK, f"accessCode={token}&mobile={NATIONAL}"))["result"] == 0
