"""China Unicom adapter against the dialect of docs/operator-dialects.md (signing and AES recomputed here)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from carrier_adapters import (
    Assurance,
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    CuccAdapter,
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
APP_ID = "cu-app-0001"
APP_KEY = "Hn3kP9sQ2wE7rT5yU1iO8pA4sD6fG0hJ"
CONFIG = OperatorConfig(operator="cucc", base_url="http://operator.test/cucc", app_id=APP_ID, app_key=APP_KEY)
LOGIN_PATH = "/cucc/openapi/netauth/v2/mobile"
CHECK_PATH = "/cucc/openapi/netauth/v2/verify"
TOKEN = "CUAT" + "Ab0_-" * 8
NATIONAL = "18612345678"
PHONE = "+8618612345678"

_DIGEST = hashlib.md5(APP_KEY.encode(), usedforsecurity=False).hexdigest().encode()
_KEY, _IV = _DIGEST[:16], _DIGEST[16:]


def _encrypt(plain: str) -> str:
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(_KEY), modes.CBC(_IV)).encryptor()
    return (encryptor.update(padder.update(plain.encode()) + padder.finalize()) + encryptor.finalize()).hex()


def _decrypt(cipher_hex: str) -> str:
    decryptor = Cipher(algorithms.AES(_KEY), modes.CBC(_IV)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(bytes.fromhex(cipher_hex)) + decryptor.finalize()
    return (unpadder.update(padded) + unpadder.finalize()).decode()


def _expected_sign(sent: dict[str, str]) -> str:
    message = "&".join(f"{k}={sent[k]}" for k in sorted(sent) if k != "sign" and sent[k])
    return hmac.new(APP_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def _answer(code: str, data: object = None, seq_id: str | None = "seq-42") -> Answer:
    body: dict[str, object] = {"code": code, "msg": "消息", "data": data}
    if seq_id is not None:
        body["seqId"] = seq_id
    return answer(200, json=body)


@pytest.fixture
def adapter(transport: FakeTransport) -> CuccAdapter:
    """The adapter under test with a fixed clock."""
    return CuccAdapter(CONFIG, transport, clock=lambda: NOW)


def test_token_shape_and_lifetime(adapter: CuccAdapter) -> None:
    """CUAT + 40 url-safe base64 chars is recognised, other shapes are not; tokens live 1800 s."""
    assert adapter.operator == "cucc"
    assert adapter.token_lifetime == 1800
    assert adapter.recognises(TOKEN)
    assert not adapter.recognises(TOKEN + "A")
    assert not adapter.recognises("CUAT" + "+/" * 20)
    assert not adapter.recognises("CTA0" + "a" * 40)


async def test_login_request_is_signed_per_dialect(adapter: CuccAdapter, transport: FakeTransport) -> None:
    """/v2/mobile gets appId, millisecond timestamp, hex nonce, token and the sorted-parameter HMAC-SHA256."""
    route = transport.on_post(LOGIN_PATH).respond(
        200,
        json={"code": "0000", "seqId": "s", "data": {"mobile": _encrypt(NATIONAL), "authType": "network"}},
    )

    await adapter.exchange_login(TOKEN)

    sent = json.loads(route.last.content)
    assert set(sent) == {"appId", "timestamp", "nonce", "token", "sign"}
    assert sent["appId"] == APP_ID
    assert sent["timestamp"] == EPOCH_MILLIS
    assert sent["token"] == TOKEN
    assert re.fullmatch(r"[0-9a-f]{16,32}", sent["nonce"])
    assert sent["sign"] == _expected_sign(sent)


async def test_check_request_encrypts_number_and_signs(
    adapter: CuccAdapter, transport: FakeTransport
) -> None:
    """/v2/verify carries the number AES-128-CBC encrypted with md5(appKey) halves, covered by the sign."""
    route = transport.on_post(CHECK_PATH).reply(_answer("0000", {"result": "1"}))

    await adapter.verify_number(TOKEN, PHONE)

    raw = route.last.content.decode()
    sent = json.loads(raw)
    assert set(sent) == {"appId", "timestamp", "nonce", "token", "mobile", "sign"}
    assert re.fullmatch(r"[0-9a-f]+", sent["mobile"])
    assert _decrypt(sent["mobile"]) == NATIONAL
    assert sent["sign"] == _expected_sign(sent)
    assert NATIONAL not in raw


@pytest.mark.parametrize(("auth_type", "assurance"), [("network", Assurance.NETWORK), ("sms", Assurance.SMS)])
async def test_login_success_decrypts_number(
    adapter: CuccAdapter, transport: FakeTransport, auth_type: str, assurance: Assurance
) -> None:
    """A 0000 answer yields the decrypted E.164 number, the assurance, the seqId reference, and is billed."""
    transport.on_post(LOGIN_PATH).reply(
        _answer("0000", {"mobile": _encrypt(NATIONAL), "authType": auth_type})
    )

    outcome = await adapter.exchange_login(TOKEN)

    assert outcome == LoginOutcome(
        operator="cucc", phone_number=PHONE, assurance=assurance, provider_ref="seq-42", billed=True
    )


@pytest.mark.parametrize(
    ("result", "verdict", "billed"),
    [("1", VerifyResult.PASS, True), ("0", VerifyResult.REJECT, True), ("2", VerifyResult.UNKNOWN, False)],
)
async def test_check_results_map_to_outcomes(
    adapter: CuccAdapter, transport: FakeTransport, result: str, verdict: VerifyResult, billed: bool
) -> None:
    """data.result 1/0/2 becomes PASS/REJECT/UNKNOWN, billed except UNKNOWN, referenced by seqId."""
    transport.on_post(CHECK_PATH).reply(_answer("0000", {"result": result}))

    outcome = await adapter.verify_number(TOKEN, PHONE)

    assert outcome == VerifyOutcome(operator="cucc", result=verdict, billed=billed, provider_ref="seq-42")


_COMMON_CODES = [
    ("1001", CarrierRejected),
    ("1002", CarrierRejected),
    ("1003", CarrierRejected),
    ("1004", CarrierRejected),
    ("2001", TokenRejected),
    ("2002", TokenRejected),
    ("2003", TokenRejected),
    ("2004", TokenRejected),
    ("9999", CarrierUnavailable),
    ("5555", CarrierProtocolError),
]


@pytest.mark.parametrize(("code", "error"), [*_COMMON_CODES, ("3001", CarrierProtocolError)])
async def test_login_codes_map_to_errors(
    adapter: CuccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    code: str,
    error: type[CarrierError],
) -> None:
    """Each documented login failure code raises its error class with the raw code (3001 is check-only)."""
    transport.on_post(LOGIN_PATH).reply(_answer(code))

    with pytest.raises(error) as caught:
        await adapter.exchange_login(TOKEN)

    assert type(caught.value) is error
    assert caught.value.code == code
    assert_no_leak(caught.value, TOKEN)


@pytest.mark.parametrize(("code", "error"), [*_COMMON_CODES, ("3001", NumberNotServed)])
async def test_check_codes_map_to_errors(
    adapter: CuccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    code: str,
    error: type[CarrierError],
) -> None:
    """Each documented check failure code raises its error class with the raw code (3001: not Unicom's)."""
    transport.on_post(CHECK_PATH).reply(_answer(code))

    with pytest.raises(error) as caught:
        await adapter.verify_number(TOKEN, PHONE)

    assert type(caught.value) is error
    assert caught.value.code == code
    assert_no_leak(caught.value, TOKEN, PHONE, NATIONAL)


@pytest.mark.parametrize(
    "data",
    [
        {"mobile": NATIONAL, "authType": "network"},
        {"mobile": "00" * 16, "authType": "network"},
        {"mobile": _encrypt("1861234567"), "authType": "network"},
        {"mobile": _encrypt("+8618612345678"), "authType": "network"},
        {"mobile": _encrypt(NATIONAL), "authType": "wifi"},
        {"authType": "network"},
        None,
    ],
    ids=["plain", "bad-padding", "short", "e164", "unknown-authtype", "no-mobile", "no-data"],
)
async def test_login_malformed_success_is_protocol_error(
    adapter: CuccAdapter, transport: FakeTransport, assert_no_leak: Callable[..., None], data: object
) -> None:
    """A success with an undecryptable, malformed or missing number or bad authType is a protocol error."""
    transport.on_post(LOGIN_PATH).reply(_answer("0000", data))

    with pytest.raises(CarrierProtocolError) as caught:
        await adapter.exchange_login(TOKEN)

    assert_no_leak(caught.value, TOKEN, NATIONAL, "1861234567")


async def test_success_without_seq_id_is_protocol_error(
    adapter: CuccAdapter, transport: FakeTransport
) -> None:
    """A success must carry the operator's seqId, our only reference for reconciliation."""
    transport.on_post(CHECK_PATH).reply(_answer("0000", {"result": "1"}, seq_id=None))

    with pytest.raises(CarrierProtocolError):
        await adapter.verify_number(TOKEN, PHONE)


async def test_check_of_foreign_number_fails_without_a_call(adapter: CuccAdapter) -> None:
    """A number outside mainland China cannot be a Unicom subscriber: NumberNotServed and no request."""
    with pytest.raises(NumberNotServed):
        await adapter.verify_number(TOKEN, "+14155550100")
