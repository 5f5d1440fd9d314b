"""China Unicom line queries, customer record and network authorization against the dialect."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from carrier_adapters import (
    AuthMethod,
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    CuccAdapter,
    LineNotEligible,
    NetworkIdentity,
    NumberNotServed,
    OperatorConfig,
    SwapHistory,
    TokenRejected,
)
from carrier_adapters.testing import Answer, FakeTransport, Request, answer

NOW = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
EPOCH_MILLIS = "1735787045678"
APP_ID = "cu-app-0001"
APP_KEY = "Hn3kP9sQ2wE7rT5yU1iO8pA4sD6fG0hJ"
BASE = "http://operator.test/cucc"
CONFIG = OperatorConfig(operator="cucc", base_url=BASE, app_id=APP_ID, app_key=APP_KEY)
SIM_PATH = "/cucc/openapi/lineinfo/v1/simchange"
DEVICE_PATH = "/cucc/openapi/lineinfo/v1/devicechange"
CUSTOMER_PATH = "/cucc/openapi/lineinfo/v1/realname"
CODE_PATH = "/cucc/openapi/netauth/v2/code"
NATIONAL = "18612345678"
PHONE = "+8618612345678"
CODE = "CUAC" + "Zz9_-" * 8
REDIRECT = "https://gw.example/oauth2/callback/cucc"

_DIGEST = hashlib.md5(APP_KEY.encode(), usedforsecurity=False).hexdigest().encode()
_KEY, _IV = _DIGEST[:16], _DIGEST[16:]

Responder = Callable[[Request], Answer]


def _encrypt(plain: str) -> str:
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(_KEY), modes.CBC(_IV)).encryptor()
    return (encryptor.update(padder.update(plain.encode()) + padder.finalize()) + encryptor.finalize()).hex()


def _decrypt(cipher_hex: str) -> str:
    decryptor = Cipher(algorithms.AES(_KEY), modes.CBC(_IV)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(bytes.fromhex(cipher_hex)) + decryptor.finalize()
    return (unpadder.update(padded) + unpadder.finalize()).decode()


def _expected_sign(fields: dict[str, str]) -> str:
    message = "&".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "sign" and v)
    return hmac.new(APP_KEY.encode(), message.encode(), hashlib.sha256).hexdigest()


def _answer(code: str, data: object = None, seq_id: str | None = "seq-1") -> Responder:
    def respond(request: Request) -> Answer:
        return answer(200, json={"code": code, "msg": "m", "seqId": seq_id, "data": data or {}})

    return respond


@pytest.fixture
def adapter(transport: FakeTransport) -> CuccAdapter:
    """The adapter under test with a fixed clock."""
    return CuccAdapter(CONFIG, transport, clock=lambda: NOW)


@pytest.mark.parametrize("path", [SIM_PATH, DEVICE_PATH, CUSTOMER_PATH])
async def test_line_queries_are_signed_with_encrypted_mobile(
    adapter: CuccAdapter, transport: FakeTransport, path: str
) -> None:
    """appId, ms timestamp, nonce, the AES-CBC national number and the sorted HMAC-SHA256."""
    route = transport.on_post(path).handle(_answer("3001"))
    call = {
        SIM_PATH: adapter.sim_history,
        DEVICE_PATH: adapter.device_history,
        CUSTOMER_PATH: adapter.customer_record,
    }

    with pytest.raises(NumberNotServed):
        await call[path](PHONE)

    sent = json.loads(route.last.content)
    assert set(sent) == {"appId", "timestamp", "nonce", "mobile", "sign"}
    assert (sent["appId"], sent["timestamp"]) == (APP_ID, EPOCH_MILLIS)
    assert len(sent["nonce"]) == 32
    assert _decrypt(sent["mobile"]) == NATIONAL
    assert sent["sign"] == _expected_sign(sent)
    assert NATIONAL not in route.last.content.decode()


async def test_history_states(adapter: CuccAdapter, transport: FakeTransport) -> None:
    """Status 1 gives the epoch-ms change in UTC, 2 no date (known), 3 no data; windowHours sets the days."""
    transport.on_post(SIM_PATH).handle(
        _answer(
            "0000", {"status": "1", "windowHours": "720", "changeTime": "1735787045678", "changeType": "swap"}
        )
    )
    transport.on_post(DEVICE_PATH).handle(_answer("0000", {"status": "2", "windowHours": "480"}))

    assert await adapter.sim_history(PHONE) == SwapHistory("cucc", NOW, 30)
    assert await adapter.device_history(PHONE) == SwapHistory("cucc", None, 20)
    assert adapter.history_window_hours == 720


async def test_no_device_record(adapter: CuccAdapter, transport: FakeTransport) -> None:
    """Status 3 is a device history with no data."""
    transport.on_post(DEVICE_PATH).handle(_answer("0000", {"status": "3", "windowHours": "720"}))

    assert await adapter.device_history(PHONE) == SwapHistory("cucc", None, 30, known=False)


@pytest.mark.parametrize(
    "data",
    [
        {"status": "1", "windowHours": "720"},
        {"status": "1", "windowHours": "720", "changeTime": "2025-01-02"},
        {"status": "4", "windowHours": "720"},
        {"status": "2"},
        {"status": "1", "windowHours": "720", "changeTime": "1" * 15},
    ],
    ids=["no-time", "iso-time", "unknown-status", "no-window", "overflow"],
)
async def test_malformed_history_is_a_protocol_error(
    adapter: CuccAdapter, transport: FakeTransport, data: dict[str, str]
) -> None:
    """A status without its fields, or an unknown status, is a protocol error."""
    transport.on_post(SIM_PATH).handle(_answer("0000", data))

    with pytest.raises(CarrierProtocolError):
        await adapter.sim_history(PHONE)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("1001", CarrierRejected),
        ("1002", CarrierRejected),
        ("1003", CarrierRejected),
        ("1004", CarrierRejected),
        ("3001", NumberNotServed),
        ("3002", LineNotEligible),
        ("9999", CarrierUnavailable),
        ("3003", CarrierProtocolError),
        ("2001", CarrierProtocolError),
    ],
)
async def test_history_codes_map_to_errors(
    adapter: CuccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    code: str,
    error: type[CarrierError],
) -> None:
    """Each documented failure code raises its class with the raw code; others are protocol errors."""
    transport.on_post(DEVICE_PATH).handle(_answer(code))

    with pytest.raises(error) as caught:
        await adapter.device_history(PHONE)

    assert type(caught.value) is error
    assert caught.value.code == code
    assert_no_leak(caught.value, PHONE, NATIONAL)


async def test_customer_record_decrypts_to_kyc_names(adapter: CuccAdapter, transport: FakeTransport) -> None:
    """The encrypted JSON record comes back under KYC Match names; unknown names and empty values go."""
    record = {
        "name": "王五",
        "birthdate": "2000-02-29",
        "gender": "FEMALE",
        "email": "",
        "memberSince": "2001",
    }
    transport.on_post(CUSTOMER_PATH).handle(
        _answer("0000", {"record": _encrypt(json.dumps(record, ensure_ascii=False))})
    )

    result = await adapter.customer_record(PHONE)

    assert (result.operator, dict(result.attributes)) == (
        "cucc",
        {"name": "王五", "birthdate": "2000-02-29", "gender": "FEMALE"},
    )


@pytest.mark.parametrize(
    "record",
    [
        _encrypt("[1, 2]"),
        _encrypt("not json"),
        "abcd",
        _encrypt('{"birthdate": "20000229"}'),
        _encrypt('{"gender": "F"}'),
    ],
    ids=["array", "not-json", "not-ciphertext", "compact-date", "gender-code"],
)
async def test_malformed_customer_record_is_a_protocol_error(
    adapter: CuccAdapter, transport: FakeTransport, record: str
) -> None:
    """Undecryptable, non-object or wrongly formatted records are protocol errors."""
    transport.on_post(CUSTOMER_PATH).handle(_answer("0000", {"record": record}))

    with pytest.raises(CarrierProtocolError):
        await adapter.customer_record(PHONE)


@pytest.mark.parametrize(("code", "error"), [("3003", NumberNotServed), ("3002", LineNotEligible)])
async def test_customer_record_failures(
    adapter: CuccAdapter, transport: FakeTransport, code: str, error: type[CarrierError]
) -> None:
    """No customer record (3003) is NumberNotServed; an ineligible line LineNotEligible."""
    transport.on_post(CUSTOMER_PATH).handle(_answer(code))

    with pytest.raises(error):
        await adapter.customer_record(PHONE)


def test_authorization_url_per_dialect(adapter: CuccAdapter) -> None:
    """appId, redirectUri, state and the AES-CBC encrypted mobileHint on the documented path."""
    url = adapter.authorization_url(redirect_uri=REDIRECT, state="s-1", login_hint=PHONE)

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == BASE + "/openapi/netauth/v2/authorize"
    query = parse_qs(parts.query)
    assert set(query) == {"appId", "redirectUri", "state", "mobileHint"}
    assert (query["appId"], query["redirectUri"], query["state"]) == ([APP_ID], [REDIRECT], ["s-1"])
    assert _decrypt(query["mobileHint"][0]) == NATIONAL
    assert "mobileHint" not in adapter.authorization_url(redirect_uri=REDIRECT, state="s", login_hint=None)


async def test_code_exchange_is_signed_per_dialect(adapter: CuccAdapter, transport: FakeTransport) -> None:
    """/v2/code gets appId, timestamp, nonce, code, redirectUri and the sorted HMAC-SHA256."""
    route = transport.on_post(CODE_PATH).handle(
        _answer("0000", {"mobile": _encrypt(NATIONAL), "authMethod": "network"})
    )

    await adapter.exchange_code(CODE, redirect_uri=REDIRECT)

    sent = json.loads(route.last.content)
    assert set(sent) == {"appId", "timestamp", "nonce", "code", "redirectUri", "sign"}
    assert (sent["code"], sent["redirectUri"], sent["timestamp"]) == (CODE, REDIRECT, EPOCH_MILLIS)
    assert sent["sign"] == _expected_sign(sent)


@pytest.mark.parametrize(
    ("method", "expected"), [("network", AuthMethod.NETWORK), ("sms_otp", AuthMethod.SMS_OTP)]
)
async def test_code_exchange_success(
    adapter: CuccAdapter, transport: FakeTransport, method: str, expected: AuthMethod
) -> None:
    """0000: the decrypted number in E.164, the method, the operator's seqId."""
    transport.on_post(CODE_PATH).handle(_answer("0000", {"mobile": _encrypt(NATIONAL), "authMethod": method}))

    assert await adapter.exchange_code(CODE, redirect_uri=REDIRECT) == NetworkIdentity(
        "cucc", PHONE, expected, "seq-1"
    )


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("1001", CarrierRejected),
        ("1002", CarrierRejected),
        ("1003", CarrierRejected),
        ("1004", CarrierRejected),
        ("2001", TokenRejected),
        ("2002", TokenRejected),
        ("2003", TokenRejected),
        ("2005", TokenRejected),
        ("9999", CarrierUnavailable),
        ("2004", CarrierProtocolError),
        ("3001", CarrierProtocolError),
    ],
)
async def test_code_exchange_codes_map_to_errors(
    adapter: CuccAdapter,
    transport: FakeTransport,
    assert_no_leak: Callable[..., None],
    code: str,
    error: type[CarrierError],
) -> None:
    """Each documented exchange failure raises its class with the raw code; others are protocol errors."""
    transport.on_post(CODE_PATH).handle(_answer(code))

    with pytest.raises(error) as caught:
        await adapter.exchange_code(CODE, redirect_uri=REDIRECT)

    assert type(caught.value) is error
    assert caught.value.code == code
    assert_no_leak(caught.value, CODE)


@pytest.mark.parametrize(
    ("data", "seq_id"),
    [
        ({"mobile": "zz", "authMethod": "network"}, "s"),
        ({"mobile": _encrypt(NATIONAL), "authMethod": "sms"}, "s"),
        ({"mobile": _encrypt(NATIONAL), "authMethod": "network"}, None),
    ],
    ids=["undecryptable", "login-auth-type", "no-reference"],
)
async def test_malformed_code_success_is_a_protocol_error(
    adapter: CuccAdapter, transport: FakeTransport, data: dict[str, str], seq_id: str | None
) -> None:
    """A success with an undecryptable number, an unknown method or no seqId is a protocol error."""
    transport.on_post(CODE_PATH).handle(_answer("0000", data, seq_id))

    with pytest.raises(CarrierProtocolError):
        await adapter.exchange_code(CODE, redirect_uri=REDIRECT)
