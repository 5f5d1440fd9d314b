"""SGIP sessions over 127.0.0.1 against an independently written SMG (tests/peers/sgip_smg.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from carrier_adapters.base import DeliveryState, MobileOriginated
from carrier_adapters.errors import CarrierRejected
from carrier_adapters.sgip.dialect import dialect_factory, listening_dialect_factory
from carrier_adapters.smsc import (
    ChannelSettings,
    Inbound,
    PartReport,
    Session,
    SessionSettings,
    SmscChannel,
    SmscListener,
)
from carrier_adapters.smsc.url import SmscUrl, parse_smsc_url
from tests.peers.sgip_smg import SgipSmg

LOGIN, PASSWORD = "sp900001", "pw-1234"


def _now() -> datetime:
    return datetime.now(UTC)


def _url(port: int, password: str = PASSWORD) -> SmscUrl:
    return parse_smsc_url(
        f"sgip://{LOGIN}:{password}@127.0.0.1:{port}"
        "?node_id=3010012345&corp_id=12345&sp_number=10655001&service_type=NOTICE&listen=127.0.0.1:0"
    )


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
async def smg() -> AsyncIterator[SgipSmg]:
    smg = SgipSmg(LOGIN, PASSWORD, corp_id="12345", access_number="10655")
    await smg.start()
    yield smg
    await smg.stop()


@pytest.fixture
async def channel(smg: SgipSmg) -> AsyncIterator[SmscChannel]:
    url = _url(smg.port)
    channel = SmscChannel(
        "cucc",
        dialect_factory(url),
        ChannelSettings(
            "127.0.0.1",
            smg.port,
            connections=1,
            tps=1000,
            throttle_pause=0.01,
            ready_timeout=1,
            session=SessionSettings(response_timeout=1),
        ),
        on_inbound=Inbox(),
        now=_now,
        backoff=lambda failures: 0.01,
    )
    await channel.start()
    await _until(lambda: channel.ready == 1)
    yield channel
    await channel.close()


@pytest.fixture
async def listening(smg: SgipSmg) -> AsyncIterator[tuple[SmscListener, Inbox]]:
    inbox = Inbox()
    listener = SmscListener(
        "cucc",
        listening_dialect_factory(_url(smg.port)),
        host="127.0.0.1",
        port=0,
        settings=SessionSettings(response_timeout=1),
        on_inbound=inbox,
        now=_now,
    )
    await listener.start()
    yield listener, inbox
    await listener.close()


async def _open(smg: SgipSmg, password: str = PASSWORD, **settings: float) -> Session[Any, Any]:
    session: Session[Any, Any] = await Session.open(
        dialect_factory(_url(smg.port, password))(),
        "127.0.0.1",
        smg.port,
        operator="cucc",
        settings=SessionSettings(response_timeout=1, **settings),  # type: ignore[arg-type]
        on_inbound=Inbox(),
        now=_now,
    )
    return session


async def test_bind_with_the_accounts_credentials_opens_a_session(smg: SgipSmg) -> None:
    """The SMG accepts the Login_Type 1 BIND; a graceful close sends UNBIND."""
    session = await _open(smg)
    assert not session.closed and smg.binds == 1
    await session.close()
    await _until(lambda: smg.unbinds == 1)


async def test_a_bind_refused_by_the_smg_is_a_rejection_with_its_result(smg: SgipSmg) -> None:
    """Result 1 (wrong password) raises CarrierRejected with the code, never the password."""
    with pytest.raises(CarrierRejected) as refused:
        await _open(smg, password="wrong")
    assert refused.value.code == "1"
    assert "wrong" not in str(refused.value)


async def test_a_long_message_goes_as_parts_each_named_by_its_submit_sequence(
    smg: SgipSmg, channel: SmscChannel
) -> None:
    """A 100-character UCS-2 text is two SUBMITs with TP_udhi 1 and one ref; ids are their sequences."""
    text = "您好" * 50
    submission = await channel.submit_sms("+8613012345678", text, reference="m-1")
    assert len(smg.submits) == 2
    first, second = smg.submits
    assert submission.parts == (first.sequence.hex().upper(), second.sequence.hex().upper())
    assert {s.user_numbers for s in smg.submits} == {("8613012345678",)}
    assert [(s.tp_udhi, s.message_coding, s.report_flag) for s in smg.submits] == [(1, 8, 1), (1, 8, 1)]
    assert first.content[:6] == bytes([5, 0, 3, first.content[3], 2, 1])
    assert second.content[:6] == bytes([5, 0, 3, first.content[3], 2, 2])
    joined = (first.content[6:] + second.content[6:]).decode("utf-16-be")
    assert joined == text
    assert (first.sp_number, first.corp_id, first.service_type) == ("10655001", "12345", "NOTICE")


async def test_node_busy_slows_down_and_the_part_is_accepted_on_the_next_try(
    smg: SgipSmg, channel: SmscChannel
) -> None:
    """Result 11 is flow control: the same part goes again and its accepted sequence names it."""
    smg.results = [11]
    submission = await channel.submit_sms("+8613012345678", "hello", reference="m-2")
    [accepted] = smg.submits
    assert accepted.content == b"hello" and accepted.message_coding == 0
    assert submission.provider_message_id == accepted.sequence.hex().upper()


async def test_a_report_on_our_listener_names_the_part_by_its_submit_sequence(
    smg: SgipSmg, channel: SmscChannel, listening: tuple[SmscListener, Inbox]
) -> None:
    """The SMG binds to our listener (Login_Type 2), REPORTs each part, and is answered Result 0."""
    listener, inbox = listening
    submission = await channel.submit_sms("+8613012345678", "hello", reference="m-3")
    [submitted] = smg.submits
    delivered = await smg.report(listener.port, submitted.sequence, "8613012345678", state=0)
    failed = await smg.report(listener.port, submitted.sequence, "8613012345678", state=2, error_code=25)
    assert (delivered.bind_result, delivered.results, delivered.unbind_answered) == (0, [0], True)
    assert failed.results == [0]
    assert [(r.provider_id, r.state, r.status) for r in inbox.items if isinstance(r, PartReport)] == [
        (submission.provider_message_id, DeliveryState.DELIVERED, "DELIVRD"),
        (submission.provider_message_id, DeliveryState.FAILED, "UNDELIV:25"),
    ]


async def test_an_mo_text_through_our_listener_is_a_reply_from_the_e164_number(
    smg: SgipSmg, listening: tuple[SmscListener, Inbox]
) -> None:
    """DELIVER from 86-prefixed UserNumber becomes a MobileOriginated in E.164 with its UCS-2 text."""
    listener, inbox = listening
    dialled = await smg.deliver(listener.port, "8613012345678", "10655001", "退订")
    assert dialled.results == [0]
    [reply] = inbox.items
    assert isinstance(reply, MobileOriginated)
    assert (reply.operator, reply.phone_number, reply.text) == ("cucc", "+8613012345678", "退订")


async def test_our_listener_refuses_a_bind_with_a_wrong_password(
    smg: SgipSmg, listening: tuple[SmscListener, Inbox]
) -> None:
    """BIND_RESP Result 1, the connection closed, and nothing reaches the gateway."""
    listener, inbox = listening
    dialled = await smg.dial(listener.port, [], password="guessed")
    assert (dialled.bind_result, dialled.closed_by_sp) == (1, True)
    assert inbox.items == []


async def test_an_idle_connection_is_unbound_and_closed(smg: SgipSmg) -> None:
    """SGIP has no heartbeat: after idle_close seconds without traffic we UNBIND and close."""
    session = await _open(smg, idle_close=0.2)
    assert await asyncio.wait_for(session.wait_closed(), 2) is None
    assert (smg.unbinds, smg.closes) == (1, 1)
    await session.close(graceful=False)
