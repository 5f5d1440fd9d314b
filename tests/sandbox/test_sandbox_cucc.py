"""China Unicom's dialect, driven over a real socket with requests signed here from the dialect doc."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from sandbox import AppCredentials, SandboxConfig
from sandbox.appkeys import STATE
from tests.clocks import ManualClock
from tests.sandbox.conftest import Call, OneTapToken, SandboxClient, Subscribe

LOGIN = "/cucc/openapi/netauth/v2/mobile"
CHECK = "/cucc/openapi/netauth/v2/verify"
PHONE = "+8618600186000"
NATIONAL = "18600186000"


def aes_cipher(app_key: str) -> Cipher[modes.CBC]:
    digest = hashlib.md5(app_key.encode()).hexdigest()  # noqa: S324 - the dialect
    return Cipher(algorithms.AES(digest[:16].encode()), modes.CBC(digest[16:].encode()))


def encrypt_number(app_key: str, national: str) -> str:
    padder = padding.PKCS7(128).padder()
    encryptor = aes_cipher(app_key).encryptor()
    padded = padder.update(national.encode()) + padder.finalize()
    return (encryptor.update(padded) + encryptor.finalize()).hex()


def decrypt_number(app_key: str, ciphertext: str) -> str:
    decryptor = aes_cipher(app_key).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(bytes.fromhex(ciphertext)) + decryptor.finalize()
    return (unpadder.update(padded) + unpadder.finalize()).decode()


def signed(app_key: str, fields: dict[str, str]) -> dict[str, str]:
    message = "&".join(f"{name}={fields[name]}" for name in sorted(fields) if fields[name])
    return {**fields, "sign": hmac.new(app_key.encode(), message.encode(), hashlib.sha256).hexdigest()}


def epoch_ms(clock: ManualClock) -> int:
    """Callers stamp requests with a clock synchronised with the operator's."""
    return int(clock.now().timestamp() * 1000)


@pytest.fixture
def app(config: SandboxConfig) -> AppCredentials:
    return config.apps["cucc"]


@pytest.fixture
def call(client: SandboxClient, app: AppCredentials, clock: ManualClock) -> Call:
    """Post a signed request; ``timestamp``/``appId``/``key`` may be overridden before signing."""

    async def call(path: str, key: str | None = None, **fields: str) -> dict[str, Any]:
        base = {
            "appId": app.app_id,
            "timestamp": str(epoch_ms(clock)),
            "nonce": secrets.token_hex(8),
        }
        response = await client.post(path, json=signed(key or app.app_key, {**base, **fields}))
        assert response.status == 200
        answer: dict[str, Any] = await response.json()
        assert answer["seqId"]
        return answer

    return call


@pytest.fixture
def check(call: Call, app: AppCredentials) -> Call:
    async def check(token: str, national: str = NATIONAL) -> dict[str, Any]:
        return await call(CHECK, token=token, mobile=encrypt_number(app.app_key, national))

    return check


@pytest.fixture(autouse=True)
async def subscriber(subscribe: Subscribe) -> None:
    await subscribe(PHONE, "cucc")


async def test_login_returns_encrypted_number_and_auth_type(
    call: Call, app: AppCredentials, one_tap_token: OneTapToken
) -> None:
    """A login token is exchanged for the AES-encrypted national number and the auth type."""
    answer = await call(LOGIN, token=await one_tap_token(PHONE, "login", method="sms"))
    assert answer["code"] == "0000"
    assert re.fullmatch("[0-9a-f]+", answer["data"]["mobile"])
    assert decrypt_number(app.app_key, answer["data"]["mobile"]) == NATIONAL
    assert answer["data"]["authType"] == "sms"


async def test_token_shape(one_tap_token: OneTapToken) -> None:
    """Tokens are CUAT followed by 40 url-safe base64 characters."""
    assert re.fullmatch(r"CUAT[A-Za-z0-9_-]{40}", await one_tap_token(PHONE, "login"))


async def test_check_matches(check: Call, one_tap_token: OneTapToken) -> None:
    """A verify token checked against its own phone answers result 1."""
    answer = await check(await one_tap_token(PHONE, "verify"))
    assert (answer["code"], answer["data"]) == ("0000", {"result": "1"})


async def test_check_does_not_match_another_number(check: Call, one_tap_token: OneTapToken) -> None:
    """A verify token checked against an unregistered number answers result 0."""
    answer = await check(await one_tap_token(PHONE, "h5"), "18600186001")
    assert (answer["code"], answer["data"]) == ("0000", {"result": "0"})


async def test_check_rejects_another_operators_subscriber(
    check: Call, one_tap_token: OneTapToken, subscribe: Subscribe
) -> None:
    """A number registered with China Mobile answers 3001, and the token is consumed."""
    await subscribe("+8613800138000", "cmcc")
    token = await one_tap_token(PHONE, "verify")
    assert (await check(token, "13800138000"))["code"] == "3001"
    assert (await check(token))["code"] == "2002"


async def test_check_answers_unknown_when_subscriber_is_gone(
    client: SandboxClient, check: Call, one_tap_token: OneTapToken
) -> None:
    """A valid token whose subscriber was removed since minting answers result 2."""
    token = await one_tap_token(PHONE, "verify")
    del client.app[STATE].subscribers[PHONE]
    assert (await check(token))["data"] == {"result": "2"}


async def test_rejects_expired_token(call: Call, one_tap_token: OneTapToken, clock: ManualClock) -> None:
    """A token older than 1800 s answers 2001."""
    token = await one_tap_token(PHONE, "login")
    clock.advance(1800)
    assert (await call(LOGIN, token=token))["code"] == "2001"


async def test_rejects_replay(call: Call, one_tap_token: OneTapToken) -> None:
    """Presenting a token a second time answers 2002."""
    token = await one_tap_token(PHONE, "login")
    assert (await call(LOGIN, token=token))["code"] == "0000"
    answer = await call(LOGIN, token=token)
    assert (answer["code"], answer["data"]) == ("2002", {})


async def test_rejects_another_apps_token(call: Call, one_tap_token: OneTapToken) -> None:
    """A token minted for another app id answers 2003."""
    assert (await call(LOGIN, token=await one_tap_token(PHONE, "login", appId="99166000000001")))[
        "code"
    ] == "2003"


async def test_rejects_wrong_purpose_without_consuming(
    call: Call, check: Call, one_tap_token: OneTapToken
) -> None:
    """A verify token at login and a login token at the check answer 2004 and stay usable."""
    verify_token = await one_tap_token(PHONE, "verify")
    login_token = await one_tap_token(PHONE, "login")
    assert (await call(LOGIN, token=verify_token))["code"] == "2004"
    assert (await check(login_token))["code"] == "2004"
    assert (await check(verify_token))["code"] == "0000"
    assert (await call(LOGIN, token=login_token))["code"] == "0000"


async def test_rejects_another_operators_token(
    call: Call, one_tap_token: OneTapToken, subscribe: Subscribe
) -> None:
    """A China Telecom token answers 2001."""
    await subscribe("+8618900189000", "ctcc")
    assert (await call(LOGIN, token=await one_tap_token("+8618900189000", "login")))["code"] == "2001"


async def test_rejects_bad_signature(call: Call, one_tap_token: OneTapToken) -> None:
    """A request signed with another key answers 1001."""
    assert (await call(LOGIN, key="k" * 32, token=await one_tap_token(PHONE, "login")))["code"] == "1001"


async def test_rejects_unknown_app_id(call: Call, one_tap_token: OneTapToken) -> None:
    """An appId China Unicom does not know answers 1003."""
    assert (await call(LOGIN, appId="99166000000001", token=await one_tap_token(PHONE, "login")))[
        "code"
    ] == "1003"


@pytest.mark.parametrize("skew_ms", [-301_000, 301_000])
async def test_rejects_timestamp_outside_window(
    call: Call, one_tap_token: OneTapToken, clock: ManualClock, skew_ms: int
) -> None:
    """A correctly signed request more than 300 s from the operator's clock answers 1002."""
    timestamp = str(epoch_ms(clock) + skew_ms)
    assert (await call(LOGIN, timestamp=timestamp, token=await one_tap_token(PHONE, "login")))[
        "code"
    ] == "1002"


async def test_accepts_timestamp_inside_window(
    call: Call, one_tap_token: OneTapToken, clock: ManualClock
) -> None:
    """A request 299 s old is inside the window."""
    timestamp = str(epoch_ms(clock) - 299_000)
    assert (await call(LOGIN, timestamp=timestamp, token=await one_tap_token(PHONE, "login")))[
        "code"
    ] == "0000"


async def test_rejects_bad_parameters(client: SandboxClient, call: Call, one_tap_token: OneTapToken) -> None:
    """Undecryptable numbers, missing fields and unreadable bodies answer 1004 in the envelope."""
    token = await one_tap_token(PHONE, "verify")
    assert (await call(CHECK, token=token, mobile="00" * 16))["code"] == "1004"
    assert (await call(CHECK, token=token))["code"] == "1004"
    response = await client.post(LOGIN, data=b"not json")
    assert response.status == 200
    assert (await response.json())["code"] == "1004"
    assert (await call(CHECK, token=token, mobile=encrypt_number("k" * 32, NATIONAL)))["code"] == "1004"
