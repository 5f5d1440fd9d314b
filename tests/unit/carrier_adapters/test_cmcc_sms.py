"""China Mobile SMS (CMPP-modelled) against docs/operator-dialects.md: the signed submission and the
DELIVER callbacks, signatures recomputed here."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from carrier_adapters import (
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    CmccAdapter,
    DeliveryReport,
    DeliveryState,
    MobileOriginated,
    NumberNotServed,
    OperatorConfig,
    SmsChannel,
    SmsSubmission,
)
from carrier_adapters.testing import Answer, FakeTransport, answer
from carrier_adapters.transport import refused

NOW = datetime(2025, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
SYSTEMTIME = "20250102110405678"
APP_ID = "300011012345"
APP_KEY = "Qw3Er5Ty7Ui9Op1As2Df4Gh6Jk8Lz0Xc"
CONFIG = OperatorConfig(operator="cmcc", base_url="http://operator.test/cmcc", app_id=APP_ID, app_key=APP_KEY)
SUBMIT_PATH = "/cmcc/sms/v3/submit"
NATIONAL = "13812345678"
PHONE = "+8613812345678"
TEXT = "【平安银行】您的验证链接 https://gw.example/l/aB3 回T退订"
REFERENCE = "0b0e7a8c-3f6e-4a51-9d0e-6a1d2c3b4a59"
MSG_ID = "1A2B3C4D5E6F7081"
BEIJING = timezone(timedelta(hours=8))


def _md5(material: str) -> str:
    return hashlib.md5(material.encode()).hexdigest().upper()  # noqa: S324 - the dialect


def _accepted(reference: str = REFERENCE, msg_id: str | None = MSG_ID, code: str = "0") -> Answer:
    body = {"inresponseto": reference, "systemtime": SYSTEMTIME, "resultCode": code}
    if msg_id is not None:
        body["msgId"] = msg_id
    return answer(200, json=body)


def _callback(fields: dict[str, str], *, key: str = APP_KEY, at: datetime = NOW) -> bytes:
    local = at.astimezone(BEIJING)
    fields = {
        "version": "3.0",
        "appid": APP_ID,
        "systemtime": f"{local:%Y%m%d%H%M%S}{local.microsecond // 1000:03d}",
    } | fields
    material = "".join(fields[name] for name in sorted(fields) if name != "sign")
    fields.setdefault("sign", _md5(material + key))
    return json.dumps(fields, ensure_ascii=False).encode()


REPORT = {
    "registeredDelivery": "1",
    "msgId": MSG_ID,
    "stat": "DELIVRD",
    "submitTime": "2501021103",
    "doneTime": "2501021104",
    "destTerminalId": NATIONAL,
    "spMsgId": REFERENCE,
}
REPLY = {
    "registeredDelivery": "0",
    "msgId": "1A2B3C4D5E6F7082",
    "srcTerminalId": NATIONAL,
    "destId": "1065750001",
    "msgFmt": "8",
    "msgContent": "TD",
    "spMsgId": REFERENCE,
}


@pytest.fixture
def adapter(transport: FakeTransport) -> CmccAdapter:
    """The adapter under test with a fixed clock."""
    return CmccAdapter(CONFIG, transport, clock=lambda: NOW)


async def test_submission_is_md5_signed_in_the_documented_order(
    adapter: CmccAdapter, transport: FakeTransport
) -> None:
    """The request carries the CMPP fields and MD5(appid + version + … + msgContent + appkey), uppercase."""
    route = transport.on_post(SUBMIT_PATH).reply(_accepted())

    submission = await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)

    assert isinstance(adapter, SmsChannel)
    assert submission == SmsSubmission("cmcc", MSG_ID)
    sent = json.loads(route.last.content)
    assert sent == {
        "appid": APP_ID,
        "version": "3.0",
        "systemtime": SYSTEMTIME,
        "spMsgId": REFERENCE,
        "srcId": "1065750001",
        "destTerminalId": NATIONAL,
        "msgFmt": "8",
        "registeredDelivery": "1",
        "msgContent": TEXT,
        "sign": _md5(
            APP_ID + "3.0" + SYSTEMTIME + REFERENCE + "1065750001" + NATIONAL + "8" + "1" + TEXT + APP_KEY
        ),
    }


async def test_the_sender_is_configurable(transport: FakeTransport) -> None:
    """``sms_sender`` replaces the default access number."""
    route = transport.on_post(SUBMIT_PATH).reply(_accepted())
    adapter = CmccAdapter(CONFIG, transport, clock=lambda: NOW, sms_sender="10657123")

    await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)

    assert json.loads(route.last.content)["srcId"] == "10657123"


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("1", CarrierRejected),
        ("2", CarrierRejected),
        ("3", CarrierRejected),
        ("8", CarrierUnavailable),
        ("13", NumberNotServed),
        ("42", CarrierProtocolError),
    ],
)
async def test_result_codes(
    adapter: CmccAdapter, transport: FakeTransport, code: str, error: type[CarrierError]
) -> None:
    """Each documented refusal maps to its error (flow control is back-off); others are protocol errors."""
    transport.on_post(SUBMIT_PATH).reply(_accepted(msg_id=None, code=code))

    with pytest.raises(error) as caught:
        await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)

    assert caught.value.code == code


@pytest.mark.parametrize(
    "unusable",
    [_accepted(reference="other"), _accepted(msg_id=None), answer(200, text="<html>")],
    ids=["foreign-echo", "no-msgid", "garbage"],
)
async def test_unusable_answers(adapter: CmccAdapter, transport: FakeTransport, unusable: Answer) -> None:
    """An answer echoing another reference, without msgId, or not JSON is a protocol error."""
    transport.on_post(SUBMIT_PATH).reply(unusable)

    with pytest.raises(CarrierProtocolError):
        await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)


async def test_only_a_refused_connection_is_retried(adapter: CmccAdapter, transport: FakeTransport) -> None:
    """A refused connection is retried once; HTTP 500 is not (the reference makes a later retry safe)."""
    route = transport.on_post(SUBMIT_PATH).sequence(refused, _accepted())
    assert (await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)).provider_message_id == MSG_ID
    assert route.call_count == 2

    route.respond(500)
    with pytest.raises(CarrierUnavailable):
        await adapter.submit_sms(PHONE, TEXT, reference=REFERENCE)
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("phone", "text", "reference", "error"),
    [
        ("+12025550123", TEXT, REFERENCE, NumberNotServed),
        (PHONE, TEXT, "", CarrierRejected),
        (PHONE, TEXT, "has space", CarrierRejected),
        (PHONE, TEXT, "x" * 65, CarrierRejected),
        (PHONE, "", REFERENCE, CarrierRejected),
        (PHONE, "字" * 701, REFERENCE, CarrierRejected),
    ],
)
async def test_malformed_submissions_make_no_call(
    adapter: CmccAdapter, phone: str, text: str, reference: str, error: type[CarrierError]
) -> None:
    """A foreign number, a bad reference or an empty or over-long text is refused without a call."""
    with pytest.raises(error):
        await adapter.submit_sms(phone, text, reference=reference)


def test_delivery_report(adapter: CmccAdapter) -> None:
    """A DELIVRD report names the msgId and reference; its time is doneTime (Beijing) in UTC."""
    (report,) = adapter.parse_callback(_callback(REPORT), {"Content-Type": "application/json"})

    assert report == DeliveryReport(
        operator="cmcc",
        provider_message_id=MSG_ID,
        reference=REFERENCE,
        state=DeliveryState.DELIVERED,
        status="DELIVRD",
        at=datetime(2025, 1, 2, 3, 4, tzinfo=UTC),
    )


@pytest.mark.parametrize("stat", ["UNDELIV", "EXPIRED", "MA:0001"])
def test_every_other_status_word_is_a_failure(adapter: CmccAdapter, stat: str) -> None:
    """Only DELIVRD is success; the raw word is kept."""
    (report,) = adapter.parse_callback(_callback(REPORT | {"stat": stat}), {})

    assert isinstance(report, DeliveryReport)
    assert (report.state, report.status) == (DeliveryState.FAILED, stat)


def test_reply(adapter: CmccAdapter) -> None:
    """A reply becomes an MO with the E.164 number, the text, the reference and the systemtime."""
    (reply,) = adapter.parse_callback(_callback(REPLY | {"msgContent": "退订"}), {})

    assert reply == MobileOriginated(
        operator="cmcc",
        phone_number=PHONE,
        text="退订",
        reference=REFERENCE,
        at=NOW.replace(microsecond=678_000),
    )


def test_reply_without_a_reference(adapter: CmccAdapter) -> None:
    """An empty spMsgId is no reference."""
    (reply,) = adapter.parse_callback(_callback(REPLY | {"spMsgId": ""}), {})

    assert isinstance(reply, MobileOriginated) and reply.reference is None


@pytest.mark.parametrize(
    "body",
    [
        _callback(REPORT, key="k" * 32),
        _callback(REPORT | {"sign": "0" * 32}),
        _callback(REPORT | {"appid": "300011999999"}),
        _callback(REPORT, at=NOW - timedelta(seconds=301)),
        _callback(REPORT, at=NOW + timedelta(seconds=301)),
        json.dumps({k: v for k, v in json.loads(_callback(REPORT)).items() if k != "sign"}).encode(),
        _callback(REPORT).replace(b"DELIVRD", b"UNDELIV"),
    ],
    ids=["other-key", "zero-sign", "other-app", "stale", "future", "unsigned", "tampered"],
)
def test_callbacks_that_are_rejected(adapter: CmccAdapter, body: bytes) -> None:
    """Another key, app id, a changed field, no sign, or a systemtime beyond ±300 s is CarrierRejected."""
    with pytest.raises(CarrierRejected):
        adapter.parse_callback(body, {})


def test_timestamps_inside_the_window_are_accepted(adapter: CmccAdapter) -> None:
    """299 s either way is fresh."""
    for offset in (-299, 299):
        assert adapter.parse_callback(_callback(REPORT, at=NOW + timedelta(seconds=offset)), {})


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        json.dumps({"registeredDelivery": 1}).encode(),
        _callback(REPORT | {"registeredDelivery": "2"}),
        _callback(REPORT | {"doneTime": "25010211"}),
        _callback(REPORT | {"stat": "DELIVERED"}),
        _callback({k: v for k, v in REPORT.items() if k != "spMsgId"}),
        _callback(REPLY | {"srcTerminalId": "12345"}),
    ],
    ids=["empty", "text", "array", "non-string", "kind", "done-time", "long-stat", "no-ref", "bad-number"],
)
def test_garbage_is_a_protocol_error(adapter: CmccAdapter, body: bytes) -> None:
    """Bodies that are not a signed CMPP DELIVER of the documented shape are CarrierProtocolError."""
    with pytest.raises(CarrierProtocolError):
        adapter.parse_callback(body, {})
