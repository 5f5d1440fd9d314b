"""The FakeExchanger's SMS channel: deduplicated submissions and its own signed callback format."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from carrier_adapters import (
    CarrierProtocolError,
    CarrierRejected,
    CarrierUnavailable,
    DeliveryReport,
    DeliveryState,
    MobileOriginated,
    NumberNotServed,
    SmsChannel,
)
from carrier_adapters.testing import FAKE_SIGNATURE_HEADER, FakeExchanger, FakeSms

PHONE = "+8613800138000"
AT = datetime(2026, 3, 2, 9, 30, tzinfo=timezone(timedelta(hours=8)))


def test_fake_is_an_sms_channel() -> None:
    """The fake satisfies SmsChannel as well as the identity protocols."""
    assert isinstance(FakeExchanger("ctcc"), SmsChannel)


async def test_submissions_are_deduplicated_by_reference() -> None:
    """The same reference answers the first message id and records nothing new."""
    fake = FakeExchanger("cucc")

    first = await fake.submit_sms(PHONE, "one", reference="r-1")
    again = await fake.submit_sms(PHONE, "changed", reference="r-1")
    other = await fake.submit_sms(PHONE, "two", reference="r-2")

    assert again == first and first.operator == "cucc"
    assert other.provider_message_id != first.provider_message_id
    assert fake.sms == [
        FakeSms(PHONE, "one", "r-1", first.provider_message_id),
        FakeSms(PHONE, "two", "r-2", other.provider_message_id),
    ]
    assert fake.calls == [("submit_sms", "r-1"), ("submit_sms", "r-1"), ("submit_sms", "r-2")]


async def test_numbers_not_served_and_queued_failures() -> None:
    """Foreign and refused numbers raise NumberNotServed; fail_next comes first and records nothing."""
    fake = FakeExchanger()
    fake.set_not_served(PHONE)
    fake.fail_next(CarrierUnavailable("cmcc", "down"))

    with pytest.raises(CarrierUnavailable):
        await fake.submit_sms("+8618600186000", "x", reference="a")
    with pytest.raises(NumberNotServed):
        await fake.submit_sms(PHONE, "x", reference="b")
    with pytest.raises(NumberNotServed):
        await fake.submit_sms("+12025550123", "x", reference="c")
    assert fake.sms == []


async def test_report_callback_round_trip() -> None:
    """report_callback builds a signed body that parse_callback turns into a DeliveryReport (UTC)."""
    fake = FakeExchanger("cmcc")
    submission = await fake.submit_sms(PHONE, "hi", reference="r-1")

    delivered = fake.parse_callback(*fake.report_callback("r-1", at=AT))
    failed = fake.parse_callback(*fake.report_callback("r-1", status="EXPIRED", at=AT))

    assert delivered == [
        DeliveryReport("cmcc", submission.provider_message_id, "r-1", DeliveryState.DELIVERED, "DELIVRD", AT)
    ]
    assert delivered[0].at.tzinfo == UTC
    assert isinstance(failed[0], DeliveryReport) and failed[0].state is DeliveryState.FAILED


def test_reply_callback_round_trip() -> None:
    """reply_callback builds a signed MO; the reference may be absent."""
    fake = FakeExchanger("ctcc")

    (reply,) = fake.parse_callback(*fake.reply_callback(PHONE, "TD", reference="r-9", at=AT))
    (bare,) = fake.parse_callback(*fake.reply_callback(PHONE, "R"))

    assert reply == MobileOriginated("ctcc", PHONE, "TD", "r-9", AT)
    assert isinstance(bare, MobileOriginated) and bare.reference is None


def test_callbacks_are_authenticated() -> None:
    """Another fake's signature or a changed body is rejected; a signed non-callback is a protocol error."""
    fake, other = FakeExchanger(), FakeExchanger()
    body, headers = fake.reply_callback(PHONE, "TD", at=AT)
    garbage = b'{"items": [{"kind": "mms"}]}'

    with pytest.raises(CarrierRejected):
        other.parse_callback(body, headers)
    with pytest.raises(CarrierRejected):
        fake.parse_callback(body.replace(b"TD", b"OK"), headers)
    with pytest.raises(CarrierProtocolError):
        fake.parse_callback(garbage, fake.callback_headers(garbage))
    assert FAKE_SIGNATURE_HEADER in headers and json.loads(body)["items"][0]["kind"] == "reply"
