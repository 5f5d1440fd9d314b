"""An operator's channel over the toy protocol: pacing, flow control, reconnects and long messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from carrier_adapters.errors import CarrierRejected, CarrierUnavailable
from carrier_adapters.segments import read_part
from carrier_adapters.smsc import ChannelSettings, Inbound, SessionSettings, SmscChannel
from tests.unit.smsc.toy import StableToyDialect, ToyDialect, ToyPeer, until


async def _ignore(items: list[Inbound]) -> None:
    return None


@pytest.fixture
async def peer() -> AsyncIterator[ToyPeer]:
    peer = ToyPeer()
    await peer.start()
    yield peer
    await peer.stop()


@pytest.fixture
async def channel(peer: ToyPeer) -> AsyncIterator[SmscChannel]:
    channel = SmscChannel(
        "toy",
        ToyDialect,
        ChannelSettings(
            "127.0.0.1",
            peer.port,
            connections=2,
            tps=1000,
            throttle_pause=0.01,
            ready_timeout=1,
            session=SessionSettings(response_timeout=1),
        ),
        on_inbound=_ignore,
        now=lambda: datetime.now(UTC),
        backoff=lambda failures: 0.01,
    )
    await channel.start()
    await until(lambda: channel.ready == 2)
    yield channel
    await channel.close()


async def test_a_short_text_is_one_part_with_its_operator_id(channel: SmscChannel, peer: ToyPeer) -> None:
    """One SMS, one submit; the answer names the operator's id for it."""
    submission = await channel.submit_sms("+8613800138000", "hello", reference="m-1")
    assert peer.submits == [b"hello"]
    assert (submission.operator, submission.provider_message_id, submission.parts) == (
        "toy",
        "id000001",
        ("id000001",),
    )


async def test_a_long_text_goes_as_numbered_parts_with_one_reference(
    channel: SmscChannel, peer: ToyPeer
) -> None:
    """A 71-character Chinese text is two UDH parts of one message; every part id comes back in order."""
    submission = await channel.submit_sms("+8613800138000", "测" * 71, reference="m-2")
    headers = [read_part(content, udhi=True)[0] for content in peer.submits]
    assert [(h.total, h.seq) for h in headers if h] == [(2, 1), (2, 2)]
    assert len({h.ref for h in headers if h}) == 1
    assert submission.parts == ("id000001", "id000002")


async def test_flow_control_halves_the_rate_and_sends_the_part_again(
    channel: SmscChannel, peer: ToyPeer
) -> None:
    """A throttled answer is not a failure: the same part goes again and is accepted."""
    peer.statuses = [8, 8]
    submission = await channel.submit_sms("+8613800138000", "hello", reference="m-3")
    assert peer.submits == [b"hello"] * 3
    assert submission.provider_message_id == "id000003"


async def test_a_rejection_is_a_carrier_rejection_with_the_code(channel: SmscChannel, peer: ToyPeer) -> None:
    """Our request is wrong: sending it again cannot help, so it is raised at once."""
    peer.statuses = [9]
    with pytest.raises(CarrierRejected) as rejected:
        await channel.submit_sms("+8613800138000", "hello", reference="m-4")
    assert rejected.value.code == "9" and len(peer.submits) == 1


async def test_a_part_lost_with_its_connection_is_sent_again_after_reconnecting(
    channel: SmscChannel, peer: ToyPeer
) -> None:
    """The connection drops with the part in flight; it goes again (same bytes) and the session comes back."""
    peer.drop_after = 1
    submission = await channel.submit_sms("+8613800138000", "hello", reference="m-5")
    assert peer.submits == [b"hello", b"hello"]
    assert submission.provider_message_id == "id000001"
    await until(lambda: channel.ready == 2)
    assert peer.logins == 3


async def test_without_a_logged_in_session_a_submit_is_unavailable_and_unsent(peer: ToyPeer) -> None:
    """A refused login leaves no session: the submit waits ready_timeout, then fails as never sent."""
    peer.login_status = 3
    channel = SmscChannel(
        "toy",
        ToyDialect,
        ChannelSettings("127.0.0.1", peer.port, connections=1, ready_timeout=0.2),
        on_inbound=_ignore,
        now=lambda: datetime.now(UTC),
        backoff=lambda failures: 0.05,
    )
    await channel.start()
    with pytest.raises(CarrierUnavailable) as down:
        await channel.submit_sms("+8613800138000", "hello", reference="m-6")
    assert down.value.unsent and peer.submits == []
    await channel.close()


async def test_a_protocol_with_stable_sequences_resends_a_lost_part_with_its_sequence(peer: ToyPeer) -> None:
    """Where sequences are unique across connections (SGIP), the part lost with its connection goes
    again with the same sequence, so the operator can tell it is a repeat."""
    channel = SmscChannel(
        "toy",
        StableToyDialect,
        ChannelSettings("127.0.0.1", peer.port, connections=1, tps=1000, ready_timeout=2),
        on_inbound=_ignore,
        now=lambda: datetime.now(UTC),
        backoff=lambda failures: 0.01,
    )
    await channel.start()
    await until(lambda: channel.ready == 1)
    peer.drop_after = 1
    await channel.submit_sms("+8613800138000", "hello", reference="m-7")
    assert len(peer.submit_sequences) == 2 and peer.submit_sequences[0] == peer.submit_sequences[1]
    await channel.close()
