"""Our listener for operators that connect to us (SGIP-style), over real sockets with the toy protocol."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from carrier_adapters.pdu import FrameBuffer
from carrier_adapters.smsc import Inbound, PartReport, SessionSettings, SmscListener
from tests.unit.smsc.toy import DELIVER, LOGIN, RESP, Toy, ToyListeningDialect, decode, encode


class Inbox:
    def __init__(self) -> None:
        self.items: list[Inbound] = []

    async def __call__(self, items: list[Inbound]) -> None:
        self.items.extend(items)


@pytest.fixture
async def listening() -> AsyncIterator[tuple[SmscListener, Inbox]]:
    inbox = Inbox()
    listener = SmscListener(
        "toy",
        ToyListeningDialect,
        host="127.0.0.1",
        port=0,
        settings=SessionSettings(response_timeout=0.5),
        on_inbound=inbox,
        now=lambda: datetime.now(UTC),
    )
    await listener.start()
    yield listener, inbox
    await listener.close()


async def _exchange(port: int, *requests: tuple[Toy, int]) -> list[tuple[int, Toy]]:
    """Send ``requests`` in order, each after the previous answer; the answers, until the peer closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    frames = FrameBuffer(min_length=24, max_length=1024)
    answers: list[tuple[int, Toy]] = []
    for pdu, sequence in requests:
        writer.write(encode(pdu, sequence))
        while len(answers) < len(requests) and (data := await asyncio.wait_for(reader.read(4096), 2)):
            answers.extend(decode(frame) for frame in frames.feed(data))
            if answers and answers[-1][0] == sequence:
                break
    writer.close()
    return answers


async def test_a_peer_that_logs_in_delivers_reports_and_gets_answers(
    listening: tuple[SmscListener, Inbox],
) -> None:
    """Login with the shared secret is accepted; a DELIVER is stored, then answered with its sequence."""
    listener, inbox = listening
    answers = await _exchange(
        listener.port, (Toy(LOGIN, text="s3cret"), 1), (Toy(DELIVER, text="id000009", content=b"DELIVRD"), 2)
    )
    assert answers == [(1, Toy(LOGIN | RESP, 0)), (2, Toy(DELIVER | RESP))]
    [report] = inbox.items
    assert isinstance(report, PartReport) and report.provider_id == "id000009"


async def test_a_wrong_secret_is_refused_and_the_connection_closed(
    listening: tuple[SmscListener, Inbox],
) -> None:
    """A refused login is answered with the refusal and nothing after it is served."""
    listener, inbox = listening
    answers = await _exchange(
        listener.port, (Toy(LOGIN, text="guess"), 1), (Toy(DELIVER, text="id000009", content=b"DELIVRD"), 2)
    )
    assert answers == [(1, Toy(LOGIN | RESP, 3))]
    assert inbox.items == []
