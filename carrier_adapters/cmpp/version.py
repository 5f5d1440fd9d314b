"""The one place where CMPP 2.0 and 3.0 differ on the wire.

Both versions share the header, the command ids and every field order; 3.0 widens the result
fields (1 → 4 bytes), the terminal ids (21 → 32 bytes), adds a terminal-type byte after each
terminal id of SUBMIT and DELIVER, and replaces the trailing ``Reserve`` (8 bytes) with
``LinkID`` (20 bytes). :class:`Layout` reads and writes exactly those fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from carrier_adapters.pdu import PduError, PduReader, PduWriter

__all__ = ["Layout", "Version"]


class Version(IntEnum):
    """The ``Version`` byte of ``CONNECT``: major version in the high nibble, minor in the low."""

    V2_0 = 0x20
    V3_0 = 0x30


@dataclass(frozen=True, slots=True)
class Layout:
    """Sizes and optional fields of one protocol version."""

    version: Version
    status_size: int
    """``CONNECT_RESP`` ``Status`` and ``SUBMIT_RESP`` / ``DELIVER_RESP`` ``Result``: 1 or 4 bytes."""
    terminal_id_size: int
    """``Fee_terminal_Id``, ``Dest_terminal_Id``, ``Src_terminal_Id`` and the report's: 21 or 32."""
    terminal_types: bool
    """Whether ``Fee_terminal_type`` / ``Dest_terminal_type`` / ``Src_terminal_type`` exist."""
    trailer_size: int
    """``Reserve`` (2.0, 8 bytes, ignored) or ``LinkID`` (3.0, 20 bytes)."""

    @classmethod
    def of(cls, version: int) -> Layout:
        """The layout of ``version`` (0x20 or 0x30); any other value raises ``ValueError``."""
        if version == Version.V2_0:
            return _V2_0
        if version == Version.V3_0:
            return _V3_0
        raise ValueError(f"CMPP version 0x{version:02X} is neither 0x20 (2.0) nor 0x30 (3.0)")

    def write_status(self, writer: PduWriter, value: int) -> None:
        """A status or result in this version's width."""
        writer.raw(self.status_bytes(value))

    def read_status(self, reader: PduReader) -> int:
        """A status or result in this version's width."""
        return int.from_bytes(reader.raw(self.status_size), "big")

    def status_bytes(self, value: int) -> bytes:
        """The wire bytes of a status or result (also what ``AuthenticatorISMG`` hashes)."""
        if not 0 <= value < 1 << (8 * self.status_size):
            raise PduError(f"status {value} does not fit {self.status_size} byte(s)")
        return value.to_bytes(self.status_size, "big")

    def write_terminal_type(self, writer: PduWriter, value: int, name: str) -> None:
        """A 3.0 terminal-type byte; 2.0 has none and only accepts 0 (the default)."""
        if self.terminal_types:
            writer.u8(value)
        elif value:
            raise PduError(f"CMPP 2.0 has no {name}")

    def read_terminal_type(self, reader: PduReader) -> int:
        """A 3.0 terminal-type byte; 0 in 2.0."""
        return reader.u8() if self.terminal_types else 0

    def write_trailer(self, writer: PduWriter, link_id: str) -> None:
        """3.0 ``LinkID``; 2.0 ``Reserve`` as NUL bytes (a non-empty ``link_id`` is an error)."""
        if self.version is Version.V3_0:
            writer.text(link_id, self.trailer_size)
        elif link_id:
            raise PduError("CMPP 2.0 has no LinkID")
        else:
            writer.fixed(b"", self.trailer_size)

    def read_trailer(self, reader: PduReader) -> str:
        """3.0 ``LinkID``; 2.0 ``Reserve`` is skipped whatever it holds and reads as ``""``."""
        if self.version is Version.V3_0:
            return reader.text(self.trailer_size)
        reader.raw(self.trailer_size)
        return ""


_V2_0 = Layout(Version.V2_0, status_size=1, terminal_id_size=21, terminal_types=False, trailer_size=8)
_V3_0 = Layout(Version.V3_0, status_size=4, terminal_id_size=32, terminal_types=True, trailer_size=20)
