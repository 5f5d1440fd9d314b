"""China Telecom adapter against docs/operator-dialects.md (params AES and sign recomputed here)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from carrier_adapters import (
    Assurance,
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    CtccAdapter,
    LoginOutcome,
    NumberNotServed,
    OperatorConfig,
    TokenRejected,
    VerifyOutcome,
    VerifyResult,
)
from carrier_adapters.testing import Answer, FakeTransport, answer

NOW = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
EPOCH_MILLIS = "1735787045678"
APP_ID = "8138111111"
APP_KEY = "Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Dd"
CONFIG = OperatorConfig(operator="ctcc", base_url="http://operator.test/ctcc", app_id=APP_ID, app_key=APP_KEY)
LOGIN_PATH = "/ctcc/openapi/networkauth/getMobile.do"
CHECK_PATH = "/ctcc/openapi/networkauth/verifyMobile.do"
TOKEN = "CTA0" + "0123456789abcdef0123456789abcdef01234567"
NATIONAL = "18912345678"
PHONE = "+8618912345678"


def _decrypt_params(cipher_hex: str) -> str:
    decryptor = Cipher(algorithms.AES(APP_KEY.encode()[:16]), modes.ECB()).decryptor()  # noqa: S305
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(bytes.fromhex(cipher_hex)) + decryptor.finalize()
    return (unpadder.update(padded) + unpadder.finalize()).decode()


def _answer(result: int, data: object = None, req_id: str | None = "req-7") -> Answer:
    body: dict[str, object] = {"result": result, "msg": "消息", "data": data}
    if req_id is not None:
        body["reqId"] = req_id
    return answer(200, json=body)


@pytest.fixture
def adapter(transport: FakeTransport) -> CtccAdapter:
    """The adapter under test with a fixed clock."""
    return CtccAdapter(CONFIG, transport, clock=lambda: NOW)


def test_token_shape_and_lifetime(adapter: CtccAdapter) -> None:
    """CTA0 + 40 hex chars is recognised, other shapes are not; tokens live 600 s."""
    assert adapter.operator == "ctcc"
    assert adapter.token_lifetime == 600
    assert adapter.recognises(TOKEN)
    assert not adapter.recognises(TOKEN[:-1])
    assert not adapter.recognises("CTA0" + "g" * 40)
    assert not adapter.recognises("STsid" + "a" * 32)


@pytest.mark.parametrize(
    ("path", "plaintext"),
    [(LOGIN_PATH, f"accessCode={TOKEN}"), (CHECK_PATH, f"accessCode={TOKEN}&mobile={NATIONAL}")],
    ids=["login", "check"],
)
async def test_form_is_encrypted_and_hmac_sha1_signed(
    adapter: CtccAdapter, transport: FakeTransport, path: str, plaintext: str
) -> None:
    """Both endpoints get the documented form, AES-128-ECB params and the uppercase HMAC-SHA1 sign."""
    data = {"mobile": NATIONAL, "authType": "network"} if path == LOGIN_PATH else {"isVerify": "1"}
    route = transport.on_post(path).reply(_answer(0, data))

    if path == LOGIN_PATH:
        await adapter.exchange_login(TOKEN)
    else:
        await adapter.verify_number(TOKEN, PHONE)

    request = route.last
    assert request.content_type == "application/x-www-form-urlencoded"
    sent = dict(parse_qsl(request.content.decode(), strict_parsing=True))
    assert set(sent) == {"appId", "clientType", "format", "version", "timeStamp", "params", "sign"}
    assert sent["appId"] == APP_ID
    assert sent["clientType"] == "30100"
    assert sent["format"] == "json"
    assert sent["version"] == "3.0"
    assert sent["timeStamp"] == EPOCH_MILLIS
    assert sent["params"] == sent["params"].upper()
    assert _decrypt_params(sent["params"]) == plaintext
    message = APP_ID + "30100" + "json" + sent["params"] + EPOCH_MILLIS + "3.0"
    assert sent["sign"] == hmac.new(APP_KEY.encode(), message.encode(), hashlib.sha1).hexdigest().upper()
    assert TOKEN not in request.content.decode()
    assert NATIONAL not in request.content.decode()


@pytest.mark.parametrize(("auth_type", "assurance"), [("network", Assurance.NETWORK), ("sms", Assurance.SMS)])
async def test_login_success_maps_number(
    adapter: CtccAdapter, transport: FakeTransport, auth_type: str, assurance: Assurance
) -> None:
    """A result 0 answer yields the E.164 number, the assurance, the reqId reference, and is billed."""
    transport.on_post(LOGIN_PATH).reply(_answer(0, {"mobile": NATIONAL, "authType": auth_type}))

    outcome = await adapter.exchange_login(TOKEN)

    assert outcome == LoginOutcome(
        operator="ctcc", phone_number=PHONE, assurance=assurance, provider_ref="req-7", billed=True
    )


@pytest.mark.parametrize(
    ("is_verify", "verdict", "billed"),
    [("1", VerifyResult.PASS, True), ("0", VerifyResult.REJECT, True), ("2", VerifyResult.UNKNOWN, False)],
)
async def test_check_results_map_to_outcomes(
    adapter: CtccAdapter, transport: FakeTransport, is_verify: str, verdict: VerifyResult, billed: bool
) -> None:
    """data.isVerify 1/0/2 becomes PASS/REJECT/UNKNOWN, billed except UNKNOWN, referenced by reqId."""
    transport.on_post(CHECK_PATH).reply(_answer(0, {"isVerify": is_verify}))

    outcome = await adapter.verify_number(TOKEN, PHONE)

    assert outcome == VerifyOutcome(operator="ctcc", result=verdict, billed=billed, provider_ref="req-7")


_COMMON_CODES = [
    (-64, CarrierRejected),
    (-10001, CarrierRejected),
    (-10002, CarrierRejected),
    (-10003, CarrierRejected),
    (-20005, TokenRejected),
    (-20006, TokenRejected),
    (-20007, TokenRejected),
    (-99999, CarrierUnavailable),
    (-1, CarrierProtocolError),
]


@pytest.mark.parametrize(("result", "error"), [*_COMMON_CODES, (-20008, CarrierProtocolError)])
async def test_login_codes_map_to_errors(
    adapter: CtccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    result: int,
    error: type[CarrierError],
) -> None:
    """Each documented login failure code raises its error class with the raw code (-20008 is check-only)."""
    transport.on_post(LOGIN_PATH).reply(_answer(result))

    with pytest.raises(error) as caught:
        await adapter.exchange_login(TOKEN)

    assert type(caught.value) is error
    assert caught.value.code == str(result)
    assert_no_leak(caught.value, TOKEN)


@pytest.mark.parametrize(("result", "error"), [*_COMMON_CODES, (-20008, NumberNotServed)])
async def test_check_codes_map_to_errors(
    adapter: CtccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    result: int,
    error: type[CarrierError],
) -> None:
    """Each documented verifyMobile failure code raises its error class with the raw code."""
    transport.on_post(CHECK_PATH).reply(_answer(result))

    with pytest.raises(error) as caught:
        await adapter.verify_number(TOKEN, PHONE)

    assert type(caught.value) is error
    assert caught.value.code == str(result)
    assert_no_leak(caught.value, TOKEN, PHONE, NATIONAL)


@pytest.mark.parametrize(
    "data",
    [
        {"mobile": "1891234567", "authType": "network"},
        {"mobile": PHONE, "authType": "network"},
        {"mobile": "1891234567a", "authType": "network"},
        {"mobile": NATIONAL, "authType": "2"},
        {"authType": "network"},
        "18912345678",
    ],
    ids=["short", "e164", "letters", "unknown-authtype", "no-mobile", "data-not-object"],
)
async def test_login_malformed_success_is_protocol_error(
    adapter: CtccAdapter, transport: FakeTransport, assert_no_leak: Callable[..., None], data: object
) -> None:
    """A success with a malformed or missing number or unknown authType is a protocol error, leaking none."""
    transport.on_post(LOGIN_PATH).reply(_answer(0, data))

    with pytest.raises(CarrierProtocolError) as caught:
        await adapter.exchange_login(TOKEN)

    assert_no_leak(caught.value, TOKEN, NATIONAL, "1891234567")


async def test_check_with_unknown_is_verify_is_protocol_error(
    adapter: CtccAdapter, transport: FakeTransport
) -> None:
    """An isVerify outside 0/1/2 is not guessed at."""
    transport.on_post(CHECK_PATH).reply(_answer(0, {"isVerify": "3"}))

    with pytest.raises(CarrierProtocolError):
        await adapter.verify_number(TOKEN, PHONE)


async def test_success_without_req_id_is_protocol_error(
    adapter: CtccAdapter, transport: FakeTransport
) -> None:
    """A success must carry the operator's reqId, our only reference for reconciliation."""
    transport.on_post(LOGIN_PATH).reply(_answer(0, {"mobile": NATIONAL, "authType": "network"}, req_id=None))

    with pytest.raises(CarrierProtocolError):
        await adapter.exchange_login(TOKEN)
