"""A toy length-prefixed protocol and a scriptable peer, to test the session layer on real sockets.

Header ``length, command, sequence`` (uint32 each), responses ``command | 0x80000000``. LOGIN
carries the secret; SUBMIT the part's content; SUBMIT_RESP a status (0 accepted, 8 throttled,
9 rejected) and an 8-character id; DELIVER (peer → us) an id and a status word.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from carrier_adapters.base import DeliveryState
from carrier_adapters.errors import CarrierRejected
from carrier_adapters.pdu import FrameBuffer, PduReader, PduWriter
from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.smsc import Inbound, OutboundPart, PartReport, PduKind, SubmitAnswer

LOGIN, SUBMIT, DELIVER, HEARTBEAT, LOGOUT = 1, 2, 3, 4, 5
RESP = 0x80000000
_OUTCOMES = {0: SubmitOutcome.ACCEPTED, 8: SubmitOutcome.THROTTLED, 9: SubmitOutcome.REJECTED}


@dataclass(frozen=True, slots=True)
class Toy:
    command: int
    status: int = 0
    text: str = ""
    content: bytes = b""


def encode(pdu: Toy, sequence: int) -> bytes:
    body = PduWriter().u32(pdu.status).text(pdu.text, 8).raw(pdu.content).getvalue()
    return PduWriter().u32(12 + len(body)).u32(pdu.command).u32(sequence).raw(body).getvalue()


def decode(frame: bytes) -> tuple[int, Toy]:
    reader = PduReader(frame, 4)
    command, sequence = reader.u32(), reader.u32()
    return sequence, Toy(command, reader.u32(), reader.text(8), reader.rest())


async def until(condition: Callable[[], bool], within: float = 2.0) -> None:
    """Wait for ``condition`` to hold, failing the test after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


class ToyDialect:
    """The client side of the toy protocol."""

    protocol = "toy"
    stable_sequences = False

    def __init__(self, secret: str = "s3cret") -> None:  # noqa: S107 (the toy peer ignores it)
        self._secret = secret
        self._sequence = itertools.count(1)

    def frames(self) -> FrameBuffer:
        return FrameBuffer(min_length=24, max_length=1024)

    def encode(self, pdu: Toy, sequence: int) -> bytes:
        return encode(pdu, sequence)

    def decode(self, frame: bytes) -> tuple[int, Toy]:
        return decode(frame)

    def next_sequence(self) -> int:
        return next(self._sequence)

    def login(self, now: datetime) -> Toy:
        return Toy(LOGIN, text=self._secret)

    def check_login(self, request: Toy, response: Toy) -> None:
        if response.status:
            raise CarrierRejected("toy", "the SMS gateway refused the login", code=str(response.status))

    def heartbeat(self) -> Toy | None:
        return Toy(HEARTBEAT)

    def logout(self) -> Toy:
        return Toy(LOGOUT)

    def submit(self, part: OutboundPart) -> Toy:
        return Toy(SUBMIT, content=part.content)

    def answer(self, response: Toy, sequence: int) -> SubmitAnswer:
        return SubmitAnswer(_OUTCOMES[response.status], response.text, response.status)

    def kind(self, pdu: Toy) -> PduKind:
        if pdu.command & RESP:
            return PduKind.RESPONSE
        return {HEARTBEAT: PduKind.HEARTBEAT, DELIVER: PduKind.INBOUND, LOGOUT: PduKind.LOGOUT}.get(
            pdu.command, PduKind.OTHER
        )

    def inbound(self, pdu: Toy, now: datetime) -> list[Inbound]:
        word = pdu.content.decode()
        state = DeliveryState.DELIVERED if word == "DELIVRD" else DeliveryState.FAILED
        return [PartReport("toy", pdu.text, state, word, now)]

    def reply(self, pdu: Toy) -> Toy | None:
        return Toy(pdu.command | RESP)


class NoHeartbeatDialect(ToyDialect):
    """The toy protocol without keep-alives (like SGIP): idle connections are closed."""

    def heartbeat(self) -> Toy | None:
        return None


class StableToyDialect(ToyDialect):
    """The toy protocol with sequences unique across connections (like SGIP): one shared counter."""

    stable_sequences = True
    counter = itertools.count(1000)

    def next_sequence(self) -> int:
        return next(self.counter)


class ToyListeningDialect(ToyDialect):
    """The toy protocol on our listener: the peer logs in with the shared secret."""

    def accept_login(self, pdu: Toy) -> tuple[Toy | None, bool]:
        accepted = pdu.command == LOGIN and pdu.text == self._secret
        return Toy(LOGIN | RESP, 0 if accepted else 3), accepted


@dataclass
class ToyPeer:
    """The operator side: answers per its knobs and records what it received.

    ``statuses`` are the SUBMIT answers to give in order (then 0); ``hold`` keeps submit answers
    back until released; ``silent`` stops answering anything after login; ``drop_after`` closes
    the connection after that many submits were received (without answering the last one).
    """

    port: int = 0
    login_status: int = 0
    statuses: list[int] = field(default_factory=list)
    hold: bool = False
    silent: bool = False
    drop_after: int | None = None
    submits: list[bytes] = field(default_factory=list)
    submit_sequences: list[int] = field(default_factory=list)
    logins: int = 0
    acknowledged: list[int] = field(default_factory=list)
    held: list[tuple[asyncio.StreamWriter, int]] = field(default_factory=list)
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for writer in self.writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def release(self) -> None:
        for writer, sequence in self.held:
            self._answer_submit(writer, sequence)
        self.held.clear()

    def push_report(self, provider_id: str, word: str, sequence: int = 900) -> None:
        self.writers[-1].write(encode(Toy(DELIVER, text=provider_id, content=word.encode()), sequence))

    def _answer_submit(self, writer: asyncio.StreamWriter, sequence: int) -> None:
        status = self.statuses.pop(0) if self.statuses else 0
        writer.write(encode(Toy(SUBMIT | RESP, status, f"id{next(self._ids):06d}"), sequence))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writers.append(writer)
        frames = FrameBuffer(min_length=24, max_length=1024)
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(4096):
                for frame in frames.feed(data):
                    sequence, pdu = decode(frame)
                    if not self._handle(writer, sequence, pdu):
                        writer.close()
                        return

    def _handle(self, writer: asyncio.StreamWriter, sequence: int, pdu: Toy) -> bool:
        if pdu.command == LOGIN:
            self.logins += 1
            writer.write(encode(Toy(LOGIN | RESP, self.login_status), sequence))
        elif pdu.command == DELIVER | RESP:
            self.acknowledged.append(sequence)
        elif self.silent:
            return True
        elif pdu.command == SUBMIT:
            self.submits.append(pdu.content)
            self.submit_sequences.append(sequence)
            if self.drop_after is not None and len(self.submits) >= self.drop_after:
                self.drop_after = None
                return False
            if self.hold:
                self.held.append((writer, sequence))
            else:
                self._answer_submit(writer, sequence)
        elif pdu.command in (HEARTBEAT, LOGOUT):
            writer.write(encode(Toy(pdu.command | RESP), sequence))
        return True
