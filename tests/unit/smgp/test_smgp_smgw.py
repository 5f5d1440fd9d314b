"""SMGP sessions and channels over real 127.0.0.1 sockets against an independent SMGW (tests/peers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.errors import CarrierRejected, CarrierUnavailable, NumberNotServed
from carrier_adapters.smgp.dialect import dialect_factory
from carrier_adapters.smgp.pdus import Pdu
from carrier_adapters.smsc import Inbound, PartReport, Session, SmscChannel
from carrier_adapters.smsc.url import parse_smsc_url
from tests.peers.smgp_smgw import BEIJING, SmgpSmgw, mint_msg_id
from tests.unit.smsc.toy import until

PHONE = "+8618900001111"
SECRET = "secret"


def _now() -> datetime:
    return datetime.now(UTC)


class Inbox:
    """Stores what the session hands over."""

    def __init__(self) -> None:
        self.items: list[Inbound] = []

    async def __call__(self, items: list[Inbound]) -> None:
        self.items.extend(items)


@pytest.fixture
async def smgw() -> AsyncIterator[SmgpSmgw]:
    peer = SmgpSmgw()
    await peer.start()
    yield peer
    await peer.stop()


def _url(smgw: SmgpSmgw, secret: str = SECRET) -> str:
    return f"smgp://10690001:{secret}@127.0.0.1:{smgw.port}?src_id=10690001&service_id=MBK&tps=1000&window=4"


async def _session(
    smgw: SmgpSmgw, *, inbox: Inbox | None = None, secret: str = SECRET, **timing: float
) -> Session[Pdu, int]:
    url = parse_smsc_url(_url(smgw, secret))
    return await Session.open(
        dialect_factory(url)(),
        "127.0.0.1",
        smgw.port,
        operator="ctcc",
        settings=replace(url.channel.session, response_timeout=2, **timing),  # type: ignore[arg-type]
        on_inbound=inbox or Inbox(),
        now=_now,
    )


@pytest.fixture
async def channel(smgw: SmgpSmgw) -> AsyncIterator[tuple[SmscChannel, Inbox]]:
    url = parse_smsc_url(_url(smgw))
    inbox = Inbox()
    channel = SmscChannel(
        "ctcc",
        dialect_factory(url),
        replace(url.channel, connections=1, throttle_pause=0.01, ready_timeout=2),
        on_inbound=inbox,
        now=_now,
        backoff=lambda failures: 0.01,
    )
    await channel.start()
    await until(lambda: channel.ready == 1)
    yield channel, inbox
    await channel.close()


def test_the_peer_mints_the_docs_msg_id_layout() -> None:
    """SMGW code, Beijing MMDDhhmm and a 6-digit sequence in BCD (the doc's example but the code)."""
    moment = datetime(2026, 3, 1, 12, 30, tzinfo=BEIJING)
    assert mint_msg_id(moment, 42).hex() == "00000103011230000042"


async def test_login_in_mode_2_then_exit_from_our_side(smgw: SmgpSmgw) -> None:
    """The SMGW accepts our AuthenticatorClient and we its AuthenticatorServer; close sends EXIT."""
    session = await _session(smgw)
    assert (smgw.login_statuses, smgw.login_modes) == ([0], [2])
    await session.close()
    assert smgw.exits_received == 1
    assert await session.wait_closed() is None


async def test_a_wrong_secret_is_refused_with_status_21(smgw: SmgpSmgw) -> None:
    with pytest.raises(CarrierRejected) as refused:
        await _session(smgw, secret="wrong")
    assert refused.value.code == "21" and smgw.login_statuses == [21]


async def test_the_refuse_login_fault_is_a_carrier_rejection(smgw: SmgpSmgw) -> None:
    smgw.refuse_login = True
    with pytest.raises(CarrierRejected, match="status 21"):
        await _session(smgw)


async def test_a_server_with_a_wrong_authenticator_is_not_trusted(smgw: SmgpSmgw) -> None:
    smgw.forge_authenticator = True
    with pytest.raises(CarrierRejected, match="did not prove it knows the secret"):
        await _session(smgw)


async def test_a_long_ucs2_message_goes_as_parts_with_one_reference(
    channel: tuple[SmscChannel, Inbox], smgw: SmgpSmgw
) -> None:
    """150 Chinese characters: 3 SUBMITs with TLVs TP_udhi 1, PkTotal 3, PkNumber n; one UDH ref."""
    text = "您的验证码已发送请查收" * 14 + "谢谢"
    submission = await channel[0].submit_sms(PHONE, text, reference="msg-1")
    assert [s.status for s in smgw.submits] == [0, 0, 0]
    assert [(s.tlvs[0x0002], s.tlvs[0x0009], s.tlvs[0x000A], s.msg_format) for s in smgw.submits] == [
        (b"\x01", b"\x03", bytes([n]), 8) for n in (1, 2, 3)
    ]
    headers = [s.content[:6] for s in smgw.submits]
    assert len({header[3] for header in headers}) == 1
    assert b"".join(s.content[6:] for s in smgw.submits).decode("utf-16-be") == text
    first = smgw.submits[0]
    assert (first.msg_type, first.need_report, first.destinations, first.src_term_id, first.service_id) == (
        6,
        1,
        ("18900001111",),
        "10690001",
        "MBK",
    )
    assert submission.parts == tuple(s.msg_id.hex() for s in smgw.submits)


async def test_a_single_sms_has_no_part_tlvs(channel: tuple[SmscChannel, Inbox], smgw: SmgpSmgw) -> None:
    await channel[0].submit_sms(PHONE, "Your code is 123456", reference="msg-0")
    [submit] = smgw.submits
    assert (submit.tlvs, submit.msg_format, submit.content) == ({}, 0, b"Your code is 123456")


async def test_system_busy_is_flow_control_sent_again_until_accepted(
    channel: tuple[SmscChannel, Inbox], smgw: SmgpSmgw
) -> None:
    smgw.throttle = 2
    submission = await channel[0].submit_sms(PHONE, "Your code is 123456", reference="msg-2")
    assert [s.status for s in smgw.submits] == [1, 1, 0]
    assert submission.provider_message_id == smgw.submits[-1].msg_id.hex()


async def test_a_number_the_smgw_does_not_serve_is_refused(
    channel: tuple[SmscChannel, Inbox], smgw: SmgpSmgw
) -> None:
    """Status 58 (no route: a China Mobile number at the SMGW) is NumberNotServed."""
    with pytest.raises(NumberNotServed) as refused:
        await channel[0].submit_sms("+8613800138000", "hi", reference="msg-5")
    assert refused.value.code == "58"


@pytest.mark.parametrize(
    ("stat", "state"), [("DELIVRD", DeliveryState.DELIVERED), ("UNDELIV", DeliveryState.FAILED)]
)
async def test_a_report_names_the_submitted_part_and_is_answered(
    channel: tuple[SmscChannel, Inbox], smgw: SmgpSmgw, stat: str, state: DeliveryState
) -> None:
    submission = await channel[0].submit_sms(PHONE, "hello", reference="msg-3")
    deliver_id, sequence = smgw.send_report(smgw.submits[0], stat)
    await until(lambda: len(smgw.deliver_answers) == 1)
    [report] = channel[1].items
    assert isinstance(report, PartReport)
    assert (report.provider_id, report.state, report.status) == (submission.provider_message_id, state, stat)
    assert smgw.deliver_answers == [(sequence, deliver_id, 0)]


async def test_an_mo_reply_reaches_the_gateway_in_e164(
    channel: tuple[SmscChannel, Inbox], smgw: SmgpSmgw
) -> None:
    """A short MO is one MobileOriginated; a long one (TLVs and UDH) one per part, texts in order."""
    smgw.send_mo("18900001111", "退订")
    long_text = "请不要再给我发送短信了谢谢" * 7
    smgw.send_mo("18900001111", long_text)
    await until(lambda: len(smgw.deliver_answers) == 3)
    items = channel[1].items
    assert all(isinstance(item, MobileOriginated) and item.phone_number == PHONE for item in items)
    texts = [item.text for item in items if isinstance(item, MobileOriginated)]
    assert texts[0] == "退订" and "".join(texts[1:]) == long_text
    assert [status for _, _, status in smgw.deliver_answers] == [0, 0, 0]


async def test_the_smgws_heartbeat_is_answered(smgw: SmgpSmgw) -> None:
    session = await _session(smgw)
    sequence = smgw.send_active_test()
    await until(lambda: smgw.heartbeat_answers == [sequence])
    await session.close()


async def test_our_heartbeat_on_a_quiet_connection_is_answered(smgw: SmgpSmgw) -> None:
    session = await _session(smgw, heartbeat_interval=0.05)
    await until(lambda: smgw.heartbeats_received >= 2)
    assert not session.closed
    await session.close()


async def test_exit_from_the_smgw_is_answered_and_ends_the_session(smgw: SmgpSmgw) -> None:
    session = await _session(smgw)
    sequence = smgw.send_exit()
    failure = await asyncio.wait_for(session.wait_closed(), 2)
    assert isinstance(failure, CarrierUnavailable) and "ended the session" in failure.message
    assert smgw.exit_answers == [sequence]


async def test_a_part_lost_with_a_dropped_connection_is_sent_again(
    channel: tuple[SmscChannel, Inbox], smgw: SmgpSmgw
) -> None:
    smgw.drop_on_submit = 1
    submission = await channel[0].submit_sms(PHONE, "Your code is 654321", reference="msg-4")
    assert [s.status for s in smgw.submits] == [-1, 0]
    assert smgw.login_statuses == [0, 0]
    assert submission.provider_message_id == smgw.submits[1].msg_id.hex()
