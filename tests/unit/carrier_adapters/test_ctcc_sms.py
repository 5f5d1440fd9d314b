"""China Telecom SMS (SMGP-modelled) against docs/operator-dialects.md: the encrypted, signed submission
form and the JSON DELIVER callbacks signed in headers, recomputed here."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, quote

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from carrier_adapters import (
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    CtccAdapter,
    DeliveryReport,
    DeliveryState,
    MobileOriginated,
    NumberNotServed,
    OperatorConfig,
    SmsSubmission,
)
from carrier_adapters.testing import Answer, FakeTransport, answer

NOW = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
EPOCH_MILLIS = "1735787045678"
APP_ID = "8138111111"
APP_KEY = "Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Dd"
CONFIG = OperatorConfig(operator="ctcc", base_url="http://operator.test/ctcc", app_id=APP_ID, app_key=APP_KEY)
SUBMIT_PATH = "/ctcc/smgp/submit.do"
NATIONAL = "18912345678"
PHONE = "+8618912345678"
TEXT = "【平安银行】叫号 a=1&b=2 https://gw.example/l/Q9 回T退订"
REFERENCE = "5d0e6a1d-2c3b-4a59-9e0e-7f1d2c3b4a59"
MSG_ID = "10087101021104000017"


def _decrypt_params(cipher_hex: str) -> str:
    decryptor = Cipher(algorithms.AES(APP_KEY.encode()[:16]), modes.ECB()).decryptor()  # noqa: S305
    unpadder = padding.PKCS7(128).unpadder()
    padded = decryptor.update(bytes.fromhex(cipher_hex)) + decryptor.finalize()
    return (unpadder.update(padded) + unpadder.finalize()).decode()


def _answer(result: int, data: object = None) -> Answer:
    return answer(200, json={"result": result, "msg": "消息", "reqId": "req-1", "data": data})


def _millis(at: datetime) -> str:
    return str((at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1))


def _callback(
    document: dict[str, object], *, key: str = APP_KEY, app_id: str = APP_ID, at: datetime = NOW
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(document, ensure_ascii=False).encode()
    timestamp = _millis(at)
    sign = hmac.new(key.encode(), (app_id + timestamp).encode() + body, hashlib.sha1).hexdigest().upper()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Ctcc-App-Id": app_id,
        "X-Ctcc-Timestamp": timestamp,
        "X-Ctcc-Sign": sign,
    }
    return body, headers


REPORT: dict[str, object] = {
    "msgId": MSG_ID,
    "isReport": 1,
    "msgFormat": 0,
    "srcTermId": NATIONAL,
    "destTermId": "1065950001",
    "msgContent": f"id:{MSG_ID} sub:001 dlvrd:001 submit_date:2501021103 done_date:2501021104 stat:DELIVRD "
    "err:000 text:",
    "recvTime": "20250102110405",
    "clientMsgId": REFERENCE,
}
REPLY: dict[str, object] = {
    "msgId": "10087101021104000018",
    "isReport": 0,
    "msgFormat": 8,
    "srcTermId": NATIONAL,
    "destTermId": "1065950001",
    "msgContent": "R",
    "recvTime": "20250102110405",
    "clientMsgId": REFERENCE,
}


@pytest.fixture
def adapter(transport: FakeTransport) -> CtccAdapter:
    """The adapter under test with a fixed clock."""
    return CtccAdapter(CONFIG, transport, clock=lambda: NOW)


async def test_submission_travels_in_the_encrypted_params(
    adapter: CtccAdapter, transport: FakeTransport
) -> None:
    """The SMGP parameters are AES-ECB params (only msgContent percent-encoded), HMAC-SHA1 signed."""
    route = transport.on_post(SUBMIT_PATH).reply(_answer(0, {"msgId": MSG_ID}))

    submission = await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)

    assert submission == SmsSubmission("ctcc", MSG_ID)
    sent = dict(parse_qsl(route.last.content.decode(), strict_parsing=True))
    assert (sent["appId"], sent["clientType"], sent["format"], sent["version"]) == (
        APP_ID,
        "30100",
        "json",
        "3.0",
    )
    assert sent["timeStamp"] == EPOCH_MILLIS
    assert _decrypt_params(sent["params"]) == (
        f"clientMsgId={REFERENCE}&srcTermId=1065950001&destTermId={NATIONAL}&msgFormat=8&needReport=1"
        f"&msgContent={quote(TEXT, safe='')}"
    )
    message = APP_ID + "30100" + "json" + sent["params"] + EPOCH_MILLIS + "3.0"
    assert sent["sign"] == hmac.new(APP_KEY.encode(), message.encode(), hashlib.sha1).hexdigest().upper()


@pytest.mark.parametrize(
    ("result", "error"),
    [
        (-64, CarrierRejected),
        (-10001, CarrierRejected),
        (-10002, CarrierRejected),
        (-10003, CarrierRejected),
        (-20008, NumberNotServed),
        (-99999, CarrierUnavailable),
        (-20005, CarrierProtocolError),
    ],
)
async def test_result_codes(
    adapter: CtccAdapter, transport: FakeTransport, result: int, error: type[CarrierError]
) -> None:
    """Documented results map to their errors; a token result on this endpoint is undocumented."""
    transport.on_post(SUBMIT_PATH).reply(_answer(result, {}))

    with pytest.raises(error) as caught:
        await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)

    assert caught.value.code == str(result)


@pytest.mark.parametrize("data", [{}, {"msgId": "12345"}, {"msgId": "A" * 20}])
async def test_success_needs_a_20_digit_msgid(
    adapter: CtccAdapter, transport: FakeTransport, data: object
) -> None:
    """Result 0 must carry SMGP's 20-digit MsgID."""
    transport.on_post(SUBMIT_PATH).reply(_answer(0, data))

    with pytest.raises(CarrierProtocolError):
        await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)


def test_delivery_report(adapter: CtccAdapter) -> None:
    """The SMGP report text gives the status word and done_date (Beijing) as the time."""
    (report,) = adapter.parse_callback(*_callback(REPORT))

    assert report == DeliveryReport(
        operator="ctcc",
        provider_message_id=MSG_ID,
        reference=REFERENCE,
        state=DeliveryState.DELIVERED,
        status="DELIVRD",
        at=datetime(2025, 1, 2, 3, 4, tzinfo=UTC),
    )


def test_undelivered_report(adapter: CtccAdapter) -> None:
    """stat UNDELIV is a failure."""
    content = (
        str(REPORT["msgContent"])
        .replace("dlvrd:001", "dlvrd:000")
        .replace("DELIVRD err:000", "UNDELIV err:001")
    )
    (report,) = adapter.parse_callback(*_callback(REPORT | {"msgContent": content}))

    assert isinstance(report, DeliveryReport)
    assert (report.state, report.status) == (DeliveryState.FAILED, "UNDELIV")


def test_reply(adapter: CtccAdapter) -> None:
    """isReport 0 is a reply at recvTime (Beijing); an empty clientMsgId is no reference."""
    (reply,) = adapter.parse_callback(*_callback(REPLY))
    (bare,) = adapter.parse_callback(*_callback(REPLY | {"clientMsgId": ""}))

    assert reply == MobileOriginated(
        operator="ctcc", phone_number=PHONE, text="R", reference=REFERENCE, at=NOW.replace(microsecond=0)
    )
    assert isinstance(bare, MobileOriginated) and bare.reference is None


def test_header_names_are_case_insensitive(adapter: CtccAdapter) -> None:
    """Headers are matched whatever their case."""
    body, headers = _callback(REPLY)

    assert adapter.parse_callback(body, {name.lower(): value for name, value in headers.items()})


@pytest.mark.parametrize(
    "callback",
    [
        _callback(REPORT, key="k" * 32),
        _callback(REPORT, app_id="8138222222"),
        _callback(REPORT, at=NOW - timedelta(seconds=301)),
        (_callback(REPORT)[0].replace(b"DELIVRD", b"UNDELIV"), _callback(REPORT)[1]),
        (_callback(REPORT)[0], {"Content-Type": "application/json"}),
    ],
    ids=["other-key", "other-app", "stale", "tampered", "unsigned"],
)
def test_callbacks_that_are_rejected(adapter: CtccAdapter, callback: tuple[bytes, dict[str, str]]) -> None:
    """Another key or app id, a changed body, missing headers or a stale timestamp is CarrierRejected."""
    with pytest.raises(CarrierRejected):
        adapter.parse_callback(*callback)


@pytest.mark.parametrize(
    "document",
    [
        "not an object",
        REPORT | {"isReport": 2},
        REPORT | {"recvTime": "2025-01-02"},
        REPORT | {"msgContent": "stat:DELIVRD"},
        REPORT | {"msgId": "10087101021104000099"},
        REPORT | {"msgContent": str(REPORT["msgContent"]).replace("2501021104", "2513421104")},
        REPLY | {"srcTermId": "+8618912345678"},
    ],
    ids=["string", "kind", "recv-time", "report-text", "foreign-id", "bad-date", "bad-number"],
)
def test_garbage_is_a_protocol_error(adapter: CtccAdapter, document: object) -> None:
    """Signed bodies that are not an SMGP DELIVER of the documented shape are CarrierProtocolError."""
    body = json.dumps(document).encode()
    timestamp = _millis(NOW)
    sign = hmac.new(APP_KEY.encode(), (APP_ID + timestamp).encode() + body, hashlib.sha1).hexdigest().upper()
    headers = {"X-Ctcc-App-Id": APP_ID, "X-Ctcc-Timestamp": timestamp, "X-Ctcc-Sign": sign}

    with pytest.raises(CarrierProtocolError):
        adapter.parse_callback(body, headers)


def test_malformed_timestamp_is_a_protocol_error(adapter: CtccAdapter) -> None:
    """A signed callback whose X-Ctcc-Timestamp is not epoch milliseconds is CarrierProtocolError."""
    body = json.dumps(REPLY).encode()
    sign = hmac.new(APP_KEY.encode(), (APP_ID + "now").encode() + body, hashlib.sha1).hexdigest().upper()

    with pytest.raises(CarrierProtocolError):
        adapter.parse_callback(
            body, {"X-Ctcc-App-Id": APP_ID, "X-Ctcc-Timestamp": "now", "X-Ctcc-Sign": sign}
        )
