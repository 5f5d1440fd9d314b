"""The session layer over real 127.0.0.1 sockets, driven with a toy protocol (tests/unit/smsc/toy.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from carrier_adapters.base import DeliveryState
from carrier_adapters.errors import CarrierRejected, CarrierTimeout, CarrierUnavailable
from carrier_adapters.smsc import Inbound, PartReport, Session, SessionSettings
from tests.unit.smsc.toy import SUBMIT, NoHeartbeatDialect, Toy, ToyDialect, ToyPeer, until


def _now() -> datetime:
    return datetime.now(UTC)


class Inbox:
    """An on_inbound sink that stores what it is given, or fails while ``failing``."""

    def __init__(self) -> None:
        self.items: list[Inbound] = []
        self.failing = False

    async def __call__(self, items: list[Inbound]) -> None:
        if self.failing:
            raise RuntimeError("database down")
        self.items.extend(items)


@pytest.fixture
async def peer() -> AsyncIterator[ToyPeer]:
    peer = ToyPeer()
    await peer.start()
    yield peer
    await peer.stop()


async def _open(
    peer: ToyPeer, inbox: Inbox | None = None, dialect: ToyDialect | None = None, **settings: float
) -> Session[Toy, int]:
    return await Session.open(
        dialect or ToyDialect(),
        "127.0.0.1",
        peer.port,
        operator="toy",
        settings=SessionSettings(**settings),  # type: ignore[arg-type]
        on_inbound=inbox or Inbox(),
        now=_now,
    )


async def test_a_refused_login_raises_the_operators_code_and_closes(peer: ToyPeer) -> None:
    """The login answer is checked by the dialect; a refusal is a carrier error, not a session."""
    peer.login_status = 3
    with pytest.raises(CarrierRejected) as refused:
        await _open(peer)
    assert refused.value.code == "3"


async def test_nothing_listening_is_unavailable_and_unsent(peer: ToyPeer) -> None:
    """A refused connection means the request never left: the caller may send it elsewhere."""
    await peer.stop()
    with pytest.raises(CarrierUnavailable) as down:
        await _open(peer)
    assert down.value.unsent


async def test_the_window_holds_back_requests_beyond_its_size(peer: ToyPeer) -> None:
    """With a window of 2 and no answers yet, a third request waits until an answer frees a slot."""
    session = await _open(peer, window=2)
    peer.hold = True
    sends = [asyncio.create_task(session.request(Toy(SUBMIT, content=bytes([n])))) for n in range(3)]
    await until(lambda: len(peer.submits) == 2)
    await asyncio.sleep(0.05)
    assert len(peer.submits) == 2 and not session.has_room
    peer.release()
    await until(lambda: len(peer.submits) == 3)
    peer.release()
    answers = await asyncio.gather(*sends)
    assert sorted(answer.text for answer in answers) == ["id000001", "id000002", "id000003"]
    await session.close()


async def test_answers_are_matched_by_sequence_not_arrival_order(peer: ToyPeer) -> None:
    """The peer may answer a later request first; each caller still gets its own answer."""
    session = await _open(peer)
    peer.hold = True
    first = asyncio.create_task(session.request(Toy(SUBMIT, content=b"a")))
    second = asyncio.create_task(session.request(Toy(SUBMIT, content=b"b")))
    await until(lambda: len(peer.held) == 2)
    peer.held.reverse()
    peer.release()
    assert ((await first).text, (await second).text) == ("id000002", "id000001")
    await session.close()


async def test_a_report_is_answered_only_after_the_sink_stored_it(peer: ToyPeer) -> None:
    """The peer's DELIVER is answered once on_inbound returned; a failing sink leaves it unanswered."""
    inbox = Inbox()
    session = await _open(peer, inbox)
    inbox.failing = True
    peer.push_report("id000042", "UNDELIV", sequence=7)
    await asyncio.sleep(0.1)
    assert peer.acknowledged == [] and inbox.items == []
    inbox.failing = False
    peer.push_report("id000042", "DELIVRD", sequence=8)
    await until(lambda: peer.acknowledged == [8])
    [report] = inbox.items
    assert isinstance(report, PartReport)
    assert (report.provider_id, report.state, report.status) == (
        "id000042",
        DeliveryState.DELIVERED,
        "DELIVRD",
    )
    await session.close()


async def test_a_silent_peer_times_requests_out_and_is_declared_dead(peer: ToyPeer) -> None:
    """No answers: a request times out, then heartbeats go unanswered and the session ends in failure."""
    session = await _open(peer, response_timeout=0.1, heartbeat_interval=0.1, heartbeat_misses=2)
    peer.silent = True
    with pytest.raises(CarrierTimeout):
        await session.request(Toy(SUBMIT, content=b"x"))
    async with asyncio.timeout(3):
        failure = await session.wait_closed()
    assert isinstance(failure, CarrierUnavailable)
    assert "heartbeats" in failure.message
    await session.close()


async def test_requests_in_flight_fail_when_the_connection_drops(peer: ToyPeer) -> None:
    """A connection lost with a request unanswered fails it as sent-maybe; later requests are unsent."""
    session = await _open(peer)
    peer.drop_after = 1
    with pytest.raises(CarrierUnavailable) as lost:
        await session.request(Toy(SUBMIT, content=b"x"))
    assert not lost.value.unsent
    with pytest.raises(CarrierUnavailable) as closed:
        await session.request(Toy(SUBMIT, content=b"y"))
    assert closed.value.unsent
    await session.close()


async def test_a_protocol_without_heartbeats_closes_an_idle_connection_gracefully(peer: ToyPeer) -> None:
    """Idle past idle_close with nothing in flight: the session logs out and ends without a failure."""
    session = await _open(peer, dialect=NoHeartbeatDialect(), idle_close=0.2)
    async with asyncio.timeout(3):
        assert await session.wait_closed() is None
    await session.close()
