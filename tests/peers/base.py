"""The TCP side shared by the independent operator gateways in tests/peers/.

CMPP and SMGP frame the same way: a 12-byte header ``length, command, sequence`` (big-endian
uint32 each, the length counting the whole PDU, at most 4096), responses ``command | 0x80000000``
with the request's sequence. Written with ``struct`` from docs/operator-dialects.md; imports
nothing from ``carrier_adapters``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import struct
from dataclasses import dataclass, field

HEADER = struct.Struct(">III")
RESP = 0x80000000
MAX_PDU = 4096


@dataclass(eq=False)
class Connection:
    """One SP connection: its writer, whether it logged in, and the gateway's own request counter."""

    writer: asyncio.StreamWriter
    logged_in: bool = False
    version: int = 0x30
    sequences: itertools.count[int] = field(default_factory=lambda: itertools.count(0x7000_0001))

    def send(self, command: int, body: bytes = b"", sequence: int | None = None) -> int:
        """Write one PDU; a request without ``sequence`` gets the gateway's next one (returned)."""
        if sequence is None:
            sequence = next(self.sequences)
        if not self.writer.is_closing():
            self.writer.write(HEADER.pack(HEADER.size + len(body), command, sequence) + body)
        return sequence

    def close(self) -> None:
        self.logged_in = False
        self.writer.close()


class PeerServer:
    """Accepts connections on 127.0.0.1 and hands each whole PDU to :meth:`handle`."""

    def __init__(self) -> None:
        self.port = 0
        self.connections: list[Connection] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for connection in self.connections:
            connection.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def latest(self) -> Connection:
        """The most recent logged-in connection (where reports and replies go)."""
        live = [c for c in self.connections if c.logged_in and not c.writer.is_closing()]
        assert live, "no SP connection is logged in"
        return live[-1]

    def drop(self) -> None:
        """Cut every connection at once, without a goodbye."""
        for connection in self.connections:
            connection.logged_in = False
            connection.writer.transport.abort()

    def handle(self, connection: Connection, command: int, sequence: int, body: bytes) -> bool:
        """Serve one PDU; ``False`` closes the connection."""
        raise NotImplementedError

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection(writer)
        self.connections.append(connection)
        buffer = b""
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                buffer += data
                while len(buffer) >= 4:
                    (length,) = struct.unpack_from(">I", buffer)
                    if not HEADER.size <= length <= MAX_PDU:
                        connection.close()
                        return
                    if len(buffer) < length:
                        break
                    _, command, sequence = HEADER.unpack_from(buffer)
                    body, buffer = buffer[HEADER.size : length], buffer[length:]
                    if not self.handle(connection, command, sequence, body):
                        connection.close()
                        return
        connection.close()
