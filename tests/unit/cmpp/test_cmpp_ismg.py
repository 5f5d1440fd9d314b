"""CMPP sessions and channels over real 127.0.0.1 sockets against an independent ISMG (tests/peers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.cmpp.dialect import CmppDialect, dialect_factory
from carrier_adapters.cmpp.pdus import Pdu
from carrier_adapters.errors import CarrierRejected, CarrierUnavailable
from carrier_adapters.segments import split
from carrier_adapters.smsc import Inbound, OutboundPart, PartReport, Session, SmscChannel
from carrier_adapters.smsc.url import parse_smsc_url
from tests.peers.cmpp_ismg import BEIJING, CmppIsmg, mint_msg_id
from tests.unit.smsc.toy import until

PHONE = "+8613800138000"
SECRET = "s3cret"
VERSIONS = ["2.0", "3.0"]


def _now() -> datetime:
    return datetime.now(UTC)


class Inbox:
    """Stores what the session hands over."""

    def __init__(self) -> None:
        self.items: list[Inbound] = []

    async def __call__(self, items: list[Inbound]) -> None:
        self.items.extend(items)


@pytest.fixture
async def ismg() -> AsyncIterator[CmppIsmg]:
    peer = CmppIsmg()
    await peer.start()
    yield peer
    await peer.stop()


def _url(ismg: CmppIsmg, version: str = "3.0", secret: str = SECRET) -> str:
    return (
        f"cmpp://901234:{secret}@127.0.0.1:{ismg.port}"
        f"?version={version}&src_id=106900001&service_id=MBK&tps=1000&window=4"
    )


async def _session(
    ismg: CmppIsmg,
    version: str = "3.0",
    *,
    inbox: Inbox | None = None,
    secret: str = SECRET,
    **timing: float,
) -> Session[Pdu, int]:
    url = parse_smsc_url(_url(ismg, version, secret))
    return await Session.open(
        dialect_factory(url)(),
        "127.0.0.1",
        ismg.port,
        operator="cmcc",
        settings=replace(url.channel.session, response_timeout=2, **timing),  # type: ignore[arg-type]
        on_inbound=inbox or Inbox(),
        now=_now,
    )


@pytest.fixture
async def channel(ismg: CmppIsmg) -> AsyncIterator[tuple[SmscChannel, Inbox]]:
    url = parse_smsc_url(_url(ismg))
    inbox = Inbox()
    channel = SmscChannel(
        "cmcc",
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


def test_the_peer_mints_the_docs_example_msg_id() -> None:
    """The independent ISMG's Msg_Id layout reproduces the doc's example."""
    moment = datetime(2026, 1, 2, 15, 4, 5, tzinfo=BEIJING)
    assert mint_msg_id(moment, 0x2A5F3, 0xBEEF).hex().upper() == "113C4142A5F3BEEF"


@pytest.mark.parametrize("version", VERSIONS)
async def test_login_then_terminate_from_our_side(ismg: CmppIsmg, version: str) -> None:
    """The ISMG accepts our AuthenticatorSource and we its AuthenticatorISMG; close sends TERMINATE."""
    session = await _session(ismg, version)
    assert ismg.login_statuses == [0] and ismg.connections[0].version == (0x20 if version == "2.0" else 0x30)
    await session.close()
    assert ismg.terminates_received == 1
    assert await session.wait_closed() is None


async def test_a_wrong_secret_is_refused_with_status_3(ismg: CmppIsmg) -> None:
    with pytest.raises(CarrierRejected) as refused:
        await _session(ismg, secret="wrong")
    assert refused.value.code == "3" and ismg.login_statuses == [3]


async def test_the_refuse_login_fault_is_a_carrier_rejection(ismg: CmppIsmg) -> None:
    ismg.refuse_login = True
    with pytest.raises(CarrierRejected, match="status 3") as refused:
        await _session(ismg, "2.0")
    assert refused.value.code == "3"


async def test_an_ismg_with_a_wrong_authenticator_is_not_trusted(ismg: CmppIsmg) -> None:
    """Status 0 but an AuthenticatorISMG that does not hash our secret: no session."""
    ismg.forge_authenticator = True
    with pytest.raises(CarrierRejected, match="the ISMG did not prove it knows the secret"):
        await _session(ismg)


async def test_a_long_ucs2_message_goes_as_parts_with_one_reference(
    channel: tuple[SmscChannel, Inbox], ismg: CmppIsmg
) -> None:
    """150 Chinese characters: 3 SUBMITs, Pk_total/Pk_number, TP_udhi 1, one UDH reference, ids in order."""
    text = "您的验证码已发送请查收" * 14 + "谢谢"
    submission = await channel[0].submit_sms(PHONE, text, reference="msg-1")
    assert [(s.pk_total, s.pk_number, s.tp_udhi, s.msg_fmt) for s in ismg.submits] == [
        (3, 1, 1, 8),
        (3, 2, 1, 8),
        (3, 3, 1, 8),
    ]
    headers = [s.content[:6] for s in ismg.submits]
    assert len({header[3] for header in headers}) == 1
    assert [header[:3] + header[4:] for header in headers] == [bytes([5, 0, 3, 3, n]) for n in (1, 2, 3)]
    assert b"".join(s.content[6:] for s in ismg.submits).decode("utf-16-be") == text
    first = ismg.submits[0]
    assert (first.destinations, first.src_id, first.msg_src, first.service_id, first.registered_delivery) == (
        ("13800138000",),
        "106900001",
        "901234",
        "MBK",
        1,
    )
    assert submission.parts == tuple(s.msg_id.hex().upper() for s in ismg.submits)
    assert submission.provider_message_id == submission.parts[0]


async def test_flow_control_is_sent_again_until_accepted(
    channel: tuple[SmscChannel, Inbox], ismg: CmppIsmg
) -> None:
    """Result 8 twice, then 0: the same part is resent and the accepted Msg_Id is the answer."""
    ismg.throttle = 2
    submission = await channel[0].submit_sms(PHONE, "Your code is 123456", reference="msg-2")
    assert [s.result for s in ismg.submits] == [8, 8, 0]
    assert len({s.content for s in ismg.submits}) == 1
    assert submission.provider_message_id == ismg.submits[-1].msg_id.hex().upper()


@pytest.mark.parametrize(
    ("stat", "state"), [("DELIVRD", DeliveryState.DELIVERED), ("UNDELIV", DeliveryState.FAILED)]
)
async def test_a_report_names_the_submitted_part_and_is_answered(
    channel: tuple[SmscChannel, Inbox], ismg: CmppIsmg, stat: str, state: DeliveryState
) -> None:
    """The report's Msg_Id is the SUBMIT_RESP's; the DELIVER is answered Result 0 once stored."""
    submission = await channel[0].submit_sms(PHONE, "hello", reference="msg-3")
    deliver_id, sequence = ismg.send_report(ismg.submits[0], stat)
    inbox = channel[1]
    await until(lambda: len(ismg.deliver_answers) == 1)
    [report] = inbox.items
    assert isinstance(report, PartReport)
    assert (report.provider_id, report.state, report.status) == (submission.provider_message_id, state, stat)
    assert ismg.deliver_answers == [(sequence, deliver_id, 0)]


@pytest.mark.parametrize("version", VERSIONS)
async def test_reports_and_replies_in_both_versions(ismg: CmppIsmg, version: str) -> None:
    """A 2.0 session reads the 60-byte report and 21-byte numbers; 3.0 the 71-byte ones."""
    inbox = Inbox()
    session = await _session(ismg, version, inbox=inbox)
    dialect = session.dialect
    assert isinstance(dialect, CmppDialect)
    sequence, response = await session.exchange(dialect.submit(_only_part("hi")))
    answer = dialect.answer(response, sequence)
    ismg.send_report(ismg.submits[0])
    ismg.send_mo("13800138000", "TD")
    await until(lambda: len(ismg.deliver_answers) == 2)
    report, reply = inbox.items
    assert isinstance(report, PartReport) and report.provider_id == answer.provider_id
    assert isinstance(reply, MobileOriginated) and (reply.phone_number, reply.text) == (PHONE, "TD")
    assert [result for _, _, result in ismg.deliver_answers] == [0, 0]
    await session.close()


def _only_part(text: str) -> OutboundPart:
    parts = split(text, ref=1)
    return OutboundPart(PHONE, parts.parts[0], parts.encoding, parts.udhi, 1, 1, "msg")


async def test_an_mo_reply_reaches_the_gateway_in_e164(
    channel: tuple[SmscChannel, Inbox], ismg: CmppIsmg
) -> None:
    """A short UCS-2 MO becomes one MobileOriginated; a long one one per part, texts in order."""
    ismg.send_mo("13800138000", "退订")
    long_text = "请不要再给我发送短信了谢谢" * 7
    ismg.send_mo("13800138000", long_text)
    await until(lambda: len(ismg.deliver_answers) == 3)
    inbox = channel[1]
    assert all(isinstance(item, MobileOriginated) and item.phone_number == PHONE for item in inbox.items)
    texts = [item.text for item in inbox.items if isinstance(item, MobileOriginated)]
    assert texts[0] == "退订" and "".join(texts[1:]) == long_text


async def test_the_ismgs_heartbeat_is_answered(ismg: CmppIsmg) -> None:
    session = await _session(ismg)
    sequence = ismg.send_active_test()
    await until(lambda: ismg.heartbeat_answers == [sequence])
    await session.close()


async def test_our_heartbeat_on_a_quiet_connection_is_answered(ismg: CmppIsmg) -> None:
    """After the heartbeat interval of silence the session sends ACTIVE_TEST and stays open."""
    session = await _session(ismg, heartbeat_interval=0.05)
    await until(lambda: ismg.heartbeats_received >= 2)
    assert not session.closed
    await session.close()


async def test_terminate_from_the_ismg_is_answered_and_ends_the_session(ismg: CmppIsmg) -> None:
    session = await _session(ismg)
    sequence = ismg.send_terminate()
    failure = await asyncio.wait_for(session.wait_closed(), 2)
    assert isinstance(failure, CarrierUnavailable) and "ended the session" in failure.message
    assert ismg.terminate_answers == [sequence]


async def test_a_part_lost_with_a_dropped_connection_is_sent_again(
    channel: tuple[SmscChannel, Inbox], ismg: CmppIsmg
) -> None:
    """The ISMG cuts the connection with the SUBMIT unanswered; the channel logs in again and resends."""
    ismg.drop_on_submit = 1
    submission = await channel[0].submit_sms(PHONE, "Your code is 654321", reference="msg-4")
    assert [s.result for s in ismg.submits] == [-1, 0]
    assert ismg.login_statuses == [0, 0]
    assert submission.provider_message_id == ismg.submits[1].msg_id.hex().upper()
