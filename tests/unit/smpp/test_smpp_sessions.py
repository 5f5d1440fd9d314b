"""SMPP sessions over 127.0.0.1 against an independently written SMSC (tests/peers/smpp_smsc.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.errors import CarrierRejected
from carrier_adapters.smpp.dialect import dialect_factory
from carrier_adapters.smsc import (
    ChannelSettings,
    Inbound,
    PartReport,
    Session,
    SessionSettings,
    SmscChannel,
)
from carrier_adapters.smsc.url import SmscUrl, parse_smsc_url
from tests.peers.smpp_smsc import DELIVER_SM, ENQUIRE_LINK, GENERIC_NACK, RESP, UNBIND, SmppSmsc

SYSTEM_ID, PASSWORD = "gw01", "secret1"


def _now() -> datetime:
    return datetime.now(UTC)


def _url(port: int, password: str = PASSWORD) -> SmscUrl:
    return parse_smsc_url(f"smpp://{SYSTEM_ID}:{password}@127.0.0.1:{port}?source_addr=Bank")


class Inbox:
    def __init__(self) -> None:
        self.items: list[Inbound] = []

    async def __call__(self, items: list[Inbound]) -> None:
        self.items.extend(items)


async def _until(condition: Callable[[], bool], within: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


@pytest.fixture
async def smsc() -> AsyncIterator[SmppSmsc]:
    smsc = SmppSmsc(SYSTEM_ID, PASSWORD)
    await smsc.start()
    yield smsc
    await smsc.stop()


@pytest.fixture
async def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
async def channel(smsc: SmppSmsc, inbox: Inbox) -> AsyncIterator[SmscChannel]:
    channel = SmscChannel(
        "intl",
        dialect_factory(_url(smsc.port)),
        ChannelSettings(
            "127.0.0.1",
            smsc.port,
            connections=1,
            tps=1000,
            throttle_pause=0.01,
            ready_timeout=1,
            session=SessionSettings(response_timeout=1),
        ),
        on_inbound=inbox,
        now=_now,
        backoff=lambda failures: 0.01,
    )
    await channel.start()
    await _until(lambda: channel.ready == 1)
    yield channel
    await channel.close()


async def _open(smsc: SmppSmsc, password: str = PASSWORD, **settings: float) -> Session[Any, Any]:
    session: Session[Any, Any] = await Session.open(
        dialect_factory(_url(smsc.port, password))(),
        "127.0.0.1",
        smsc.port,
        operator="intl",
        settings=SessionSettings(response_timeout=1, **settings),  # type: ignore[arg-type]
        on_inbound=Inbox(),
        now=_now,
    )
    return session


async def test_bind_transceiver_opens_a_session_and_unbind_ends_it(smsc: SmppSmsc) -> None:
    """The SMSC binds us; closing sends unbind, which it answers."""
    session = await _open(smsc)
    assert smsc.bound == 1
    await session.close()
    await _until(lambda: smsc.unbinds == 1)


async def test_a_refused_bind_raises_the_status_name_never_the_password(smsc: SmppSmsc) -> None:
    """ESME_RINVPASWD is a rejection of our configuration."""
    with pytest.raises(CarrierRejected) as refused:
        await _open(smsc, password="nope")
    assert refused.value.code == "ESME_RINVPASWD"
    assert "nope" not in str(refused.value)


async def test_a_long_message_is_submitted_as_udh_parts(smsc: SmppSmsc, channel: SmscChannel) -> None:
    """Two UCS-2 parts with esm_class 0x40, one reference, destination TON/NPI 1/1, alphanumeric sender."""
    text = "Привет " * 12
    submission = await channel.submit_sms("+447700900123", text, reference="m-1")
    first, second = smsc.submits
    assert submission.parts == (first.message_id, second.message_id)
    for part in smsc.submits:
        assert (part.esm_class, part.data_coding, part.registered_delivery) == (0x40, 8, 1)
        assert (part.dest_addr_ton, part.dest_addr_npi, part.destination_addr) == (1, 1, "447700900123")
        assert (part.source_addr_ton, part.source_addr_npi, part.source_addr) == (5, 0, "Bank")
    assert first.short_message[:6] == bytes([5, 0, 3, first.short_message[3], 2, 1])
    assert second.short_message[:6] == bytes([5, 0, 3, first.short_message[3], 2, 2])
    assert (first.short_message[6:] + second.short_message[6:]).decode("utf-16-be") == text


async def test_throttled_submit_is_sent_again_and_accepted(smsc: SmppSmsc, channel: SmscChannel) -> None:
    """ESME_RTHROTTLED slows the channel; the resent part is accepted with its message_id."""
    smsc.statuses = [0x58]
    submission = await channel.submit_sms("+447700900123", "hello", reference="m-2")
    [accepted] = smsc.submits
    assert (accepted.short_message, accepted.data_coding, accepted.esm_class) == (b"hello", 1, 0)
    assert submission.provider_message_id == accepted.message_id


async def test_a_receipt_is_a_part_report_named_by_the_submit_message_id(
    smsc: SmppSmsc, channel: SmscChannel, inbox: Inbox
) -> None:
    """deliver_sm receipts are stored, then answered with deliver_sm_resp status 0."""
    submission = await channel.submit_sms("+447700900123", "hello", reference="m-3")
    delivered = smsc.send_receipt(submission.provider_message_id, "447700900123", "DELIVRD")
    failed = smsc.send_receipt(submission.provider_message_id, "447700900123", "UNDELIV", err="001")
    assert await smsc.answer(delivered) == (DELIVER_SM | RESP, 0, b"\0")
    assert (await smsc.answer(failed))[:2] == (DELIVER_SM | RESP, 0)
    assert [(r.provider_id, r.state, r.status) for r in inbox.items if isinstance(r, PartReport)] == [
        (submission.provider_message_id, DeliveryState.DELIVERED, "DELIVRD"),
        (submission.provider_message_id, DeliveryState.FAILED, "UNDELIV:001"),
    ]


async def test_an_mo_text_is_a_reply_from_the_e164_number(
    smsc: SmppSmsc, channel: SmscChannel, inbox: Inbox
) -> None:
    """A deliver_sm that is not a receipt is an MO text, answered status 0."""
    sequence = smsc.send_mo("447700900123", "STOP")
    assert (await smsc.answer(sequence))[:2] == (DELIVER_SM | RESP, 0)
    [reply] = inbox.items
    assert isinstance(reply, MobileOriginated)
    assert (reply.operator, reply.phone_number, reply.text) == ("intl", "+447700900123", "STOP")


async def test_the_smscs_enquire_link_is_answered(smsc: SmppSmsc, channel: SmscChannel) -> None:
    """enquire_link_resp, status 0, the same sequence."""
    assert await smsc.answer(smsc.send(ENQUIRE_LINK)) == (ENQUIRE_LINK | RESP, 0, b"")


async def test_an_idle_link_is_probed_with_enquire_link(smsc: SmppSmsc) -> None:
    """After heartbeat seconds of silence from the SMSC we send enquire_link."""
    session = await _open(smsc, heartbeat_interval=0.1)
    await _until(lambda: smsc.enquire_links >= 1)
    assert not session.closed
    await session.close()


async def test_the_smscs_unbind_is_answered_and_ends_the_session(smsc: SmppSmsc) -> None:
    """unbind_resp goes back and the session is over (the channel reconnects with its backoff)."""
    session = await _open(smsc)
    sequence = smsc.send(UNBIND)
    assert await smsc.answer(sequence) == (UNBIND | RESP, 0, b"")
    failure = await asyncio.wait_for(session.wait_closed(), 2)
    assert failure is not None and "ended the session" in failure.message


async def test_a_command_we_do_not_serve_gets_generic_nack_and_the_link_stays(smsc: SmppSmsc) -> None:
    """data_sm (0x103) is answered generic_nack ESME_RINVCMDID with its sequence."""
    session = await _open(smsc)
    sequence = smsc.send(0x00000103, b"\0" * 10)
    assert await smsc.answer(sequence) == (GENERIC_NACK, 0x03, b"")
    assert not session.closed
    await session.close()
