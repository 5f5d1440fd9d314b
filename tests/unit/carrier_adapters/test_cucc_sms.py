"""China Unicom SMS (SGIP-modelled) against docs/operator-dialects.md: the signed submission form and
the REPORT/DELIVER callbacks, signatures and number encryption recomputed here."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from carrier_adapters import (
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    CuccAdapter,
    DeliveryReport,
    DeliveryState,
    MobileOriginated,
    NumberNotServed,
    OperatorConfig,
    SmsSubmission,
)
from carrier_adapters.testing import Answer, FakeTransport, answer

NOW = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
EPOCH_MILLIS = 1735787045678
APP_ID = "99166000000001"
APP_KEY = "Hn3kP9sQ2wE7rT5yU1iO8pA4sD6fG0hJ"
CONFIG = OperatorConfig(operator="cucc", base_url="http://operator.test/cucc", app_id=APP_ID, app_key=APP_KEY)
SUBMIT_PATH = "/cucc/sgip/submit"
NATIONAL = "18612345678"
PHONE = "+8618612345678"
TEXT = "【平安银行】请点击 https://gw.example/l/aB3?a=1&b=2 查看"
REFERENCE = "7f1d2c3b-4a59-4e0e-9d0e-6a1d2c3b4a59"
SEQ = "1010000001-0102110405-17"

_DIGEST = hashlib.md5(APP_KEY.encode()).hexdigest().encode()  # noqa: S324 - the dialect
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


def _sign(fields: dict[str, str], key: str = APP_KEY) -> str:
    message = "&".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and fields[k])
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _answer(code: str, data: object = None) -> Answer:
    return answer(200, json={"code": code, "msg": "消息", "seqId": "seq-1", "data": data})


def _callback(fields: dict[str, str], *, key: str = APP_KEY, at: datetime = NOW) -> bytes:
    millis = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    fields = {"appId": APP_ID, "timestamp": str(millis), "nonce": "0123456789abcdef"} | fields
    fields.setdefault("sign", _sign(fields, key))
    return urlencode(fields).encode()


REPORT = {
    "command": "REPORT",
    "submitSeq": SEQ,
    "spSequence": REFERENCE,
    "reportType": "0",
    "userNumber": _encrypt(NATIONAL),
    "state": "0",
    "errorCode": "0",
    "doneTime": str(EPOCH_MILLIS - 1000),
}
DELIVER = {
    "command": "DELIVER",
    "userNumber": _encrypt(NATIONAL),
    "spNumber": "1065550001",
    "messageCoding": "8",
    "messageContent": "TD",
    "recvTime": str(EPOCH_MILLIS),
    "spSequence": REFERENCE,
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def adapter(transport: FakeTransport) -> CuccAdapter:
    """The adapter under test with a fixed clock."""
    return CuccAdapter(CONFIG, transport, clock=lambda: NOW)


async def test_submission_is_a_signed_form_with_an_encrypted_number(
    adapter: CuccAdapter, transport: FakeTransport
) -> None:
    """The SGIP fields travel form-encoded, userNumber AES-CBC encrypted, signed with the sorted HMAC."""
    route = transport.on_post(SUBMIT_PATH).reply(_answer("0000", {"submitSeq": SEQ}))

    submission = await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)

    assert submission == SmsSubmission("cucc", SEQ)
    request = route.last
    assert request.content_type == "application/x-www-form-urlencoded"
    sent = dict(parse_qsl(request.content.decode(), strict_parsing=True))
    assert set(sent) == {
        "appId",
        "timestamp",
        "nonce",
        "spNumber",
        "userNumber",
        "spSequence",
        "messageCoding",
        "reportFlag",
        "messageContent",
        "sign",
    }
    assert (sent["appId"], sent["timestamp"], sent["spNumber"]) == (APP_ID, str(EPOCH_MILLIS), "1065550001")
    assert (sent["spSequence"], sent["messageCoding"], sent["reportFlag"]) == (REFERENCE, "8", "1")
    assert sent["messageContent"] == TEXT
    assert re.fullmatch(r"[0-9a-f]{32}", sent["nonce"])
    assert _decrypt(sent["userNumber"]) == NATIONAL
    assert NATIONAL not in request.content.decode()
    assert sent["sign"] == _sign(sent)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("1001", CarrierRejected),
        ("1002", CarrierRejected),
        ("1003", CarrierRejected),
        ("1004", CarrierRejected),
        ("3001", NumberNotServed),
        ("9999", CarrierUnavailable),
        ("2001", CarrierProtocolError),
    ],
)
async def test_result_codes(
    adapter: CuccAdapter, transport: FakeTransport, code: str, error: type[CarrierError]
) -> None:
    """Documented codes map to their errors; a token code on this endpoint is undocumented."""
    transport.on_post(SUBMIT_PATH).reply(_answer(code, {}))

    with pytest.raises(error) as caught:
        await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)

    assert caught.value.code == code


async def test_success_without_a_sequence_is_a_protocol_error(
    adapter: CuccAdapter, transport: FakeTransport
) -> None:
    """0000 must carry data.submitSeq."""
    transport.on_post(SUBMIT_PATH).reply(_answer("0000", {}))

    with pytest.raises(CarrierProtocolError):
        await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)


@pytest.mark.parametrize(
    ("state", "status", "delivery"),
    [("0", "DELIVRD", DeliveryState.DELIVERED), ("2", "UNDELIV", DeliveryState.FAILED)],
)
def test_reports(adapter: CuccAdapter, state: str, status: str, delivery: DeliveryState) -> None:
    """SGIP states 0 and 2 are named DELIVRD and UNDELIV; the time is doneTime."""
    (report,) = adapter.parse_callback(_callback(REPORT | {"state": state}), FORM)

    assert report == DeliveryReport(
        operator="cucc",
        provider_message_id=SEQ,
        reference=REFERENCE,
        state=delivery,
        status=status,
        at=NOW - timedelta(seconds=1),
    )


def test_waiting_reports_are_left_out(adapter: CuccAdapter) -> None:
    """State 1 (waiting) is not final: no item."""
    assert adapter.parse_callback(_callback(REPORT | {"state": "1"}), FORM) == []


def test_deliver_is_a_reply(adapter: CuccAdapter) -> None:
    """DELIVER decrypts the phone's number; an absent spSequence is no reference."""
    (reply,) = adapter.parse_callback(_callback(DELIVER), FORM)
    (bare,) = adapter.parse_callback(_callback({k: v for k, v in DELIVER.items() if k != "spSequence"}), FORM)

    assert reply == MobileOriginated(
        operator="cucc", phone_number=PHONE, text="TD", reference=REFERENCE, at=NOW
    )
    assert isinstance(bare, MobileOriginated) and bare.reference is None


@pytest.mark.parametrize(
    "body",
    [
        _callback(REPORT, key="k" * 32),
        _callback(REPORT | {"appId": "99166000000002"}),
        _callback(REPORT, at=NOW - timedelta(seconds=301)),
        _callback(REPORT | {"sign": ""}),
        _callback(REPORT).replace(b"state=0", b"state=2"),
    ],
    ids=["other-key", "other-app", "stale", "unsigned", "tampered"],
)
def test_callbacks_that_are_rejected(adapter: CuccAdapter, body: bytes) -> None:
    """Another key or app id, no signature, a changed field or a stale timestamp is CarrierRejected."""
    with pytest.raises(CarrierRejected):
        adapter.parse_callback(body, FORM)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"\xff\xfe",
        b"no form here",
        json.dumps(REPORT).encode(),
        b"a=1&a=2",
        _callback(REPORT | {"command": "TRACE"}),
        _callback(REPORT | {"state": "9"}),
        _callback(REPORT | {"doneTime": "yesterday"}),
        _callback(DELIVER | {"userNumber": "00" * 16}),
        _callback(REPORT | {"timestamp": "soon"}),
    ],
    ids=["empty", "binary", "text", "json", "repeated", "command", "state", "time", "number", "timestamp"],
)
def test_garbage_is_a_protocol_error(adapter: CuccAdapter, body: bytes) -> None:
    """Bodies that are not a signed SGIP callback of the documented shape are CarrierProtocolError."""
    with pytest.raises(CarrierProtocolError):
        adapter.parse_callback(body, FORM)
