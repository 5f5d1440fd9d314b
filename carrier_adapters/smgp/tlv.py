"""SMGP 3.0 optional parameters: ``Tag`` (uint16), ``Length`` (uint16), ``Value`` after the body.

Integer parameters are one byte. String parameters are ASCII, written at their own length and
read back without trailing NULs (some gateways pad them to the field size). A parameter this
module does not know, a duplicate of one it already read, or a known tag whose value does not fit
its type is kept as a raw ``(tag, value)`` pair in :attr:`Options.others`, so re-encoding loses
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from carrier_adapters.pdu import PduError, PduReader, PduWriter

__all__ = ["Options", "Tag", "decode_options", "encode_options"]


class Tag(IntEnum):
    """The optional parameter tags of SMGP 3.0."""

    TP_PID = 0x0001
    TP_UDHI = 0x0002
    LINK_ID = 0x0003
    CHARGE_USER_TYPE = 0x0004
    CHARGE_TERM_TYPE = 0x0005
    CHARGE_TERM_PSEUDO = 0x0006
    DEST_TERM_TYPE = 0x0007
    DEST_TERM_PSEUDO = 0x0008
    PK_TOTAL = 0x0009
    PK_NUMBER = 0x000A
    SUBMIT_MSG_TYPE = 0x000B
    SP_DEAL_RESULT = 0x000C
    SRC_TERM_TYPE = 0x000D
    SRC_TERM_PSEUDO = 0x000E
    NODES_COUNT = 0x000F
    MSG_SRC = 0x0010
    SRC_TYPE = 0x0011
    M_SERVICE_ID = 0x0012


# Attribute name per tag, and the longest string value the protocol allows (None: an integer).
_SPEC: dict[Tag, tuple[str, int | None]] = {
    Tag.TP_PID: ("tp_pid", None),
    Tag.TP_UDHI: ("tp_udhi", None),
    Tag.LINK_ID: ("link_id", 20),
    Tag.CHARGE_USER_TYPE: ("charge_user_type", None),
    Tag.CHARGE_TERM_TYPE: ("charge_term_type", None),
    Tag.CHARGE_TERM_PSEUDO: ("charge_term_pseudo", 32),
    Tag.DEST_TERM_TYPE: ("dest_term_type", None),
    Tag.DEST_TERM_PSEUDO: ("dest_term_pseudo", 32),
    Tag.PK_TOTAL: ("pk_total", None),
    Tag.PK_NUMBER: ("pk_number", None),
    Tag.SUBMIT_MSG_TYPE: ("submit_msg_type", None),
    Tag.SP_DEAL_RESULT: ("sp_deal_result", None),
    Tag.SRC_TERM_TYPE: ("src_term_type", None),
    Tag.SRC_TERM_PSEUDO: ("src_term_pseudo", 32),
    Tag.NODES_COUNT: ("nodes_count", None),
    Tag.MSG_SRC: ("msg_src", 8),
    Tag.SRC_TYPE: ("src_type", None),
    Tag.M_SERVICE_ID: ("m_service_id", 21),
}


@dataclass(frozen=True, slots=True)
class Options:
    """The optional parameters of a SUBMIT or DELIVER; ``None`` means absent."""

    tp_pid: int | None = None
    tp_udhi: int | None = None
    link_id: str | None = None
    charge_user_type: int | None = None
    charge_term_type: int | None = None
    charge_term_pseudo: str | None = None
    dest_term_type: int | None = None
    dest_term_pseudo: str | None = None
    pk_total: int | None = None
    pk_number: int | None = None
    submit_msg_type: int | None = None
    sp_deal_result: int | None = None
    src_term_type: int | None = None
    src_term_pseudo: str | None = None
    nodes_count: int | None = None
    msg_src: str | None = None
    src_type: int | None = None
    m_service_id: str | None = None
    others: tuple[tuple[int, bytes], ...] = ()


def encode_options(options: Options, writer: PduWriter) -> None:
    """Append the present parameters in tag order, then :attr:`Options.others` as they are."""
    for tag, (name, max_size) in _SPEC.items():
        value = getattr(options, name)
        if value is None:
            continue
        if max_size is None:
            writer.u16(tag).u16(1).u8(value)
        else:
            data = _ascii(value)
            if len(data) > max_size:
                raise PduError(f"optional parameter {tag.name} longer than {max_size} bytes")
            writer.u16(tag).u16(len(data)).raw(data)
    for tag_value, data in options.others:
        writer.u16(tag_value).u16(len(data)).raw(data)


def decode_options(reader: PduReader) -> Options:
    """Read parameters until the end of the PDU; a truncated parameter raises :class:`PduError`."""
    known: dict[str, Any] = {}
    others: list[tuple[int, bytes]] = []
    while reader.remaining:
        tag_value = reader.u16()
        data = reader.raw(reader.u16())
        value = _typed(tag_value, data)
        name = _SPEC[Tag(tag_value)][0] if value is not None else ""
        if value is None or name in known:
            others.append((tag_value, data))
        else:
            known[name] = value
    return Options(**known, others=tuple(others))


def _typed(tag_value: int, data: bytes) -> int | str | None:
    if tag_value not in Tag._value2member_map_:
        return None
    max_size = _SPEC[Tag(tag_value)][1]
    if max_size is None:
        return data[0] if len(data) == 1 else None
    text = data.rstrip(b"\0")
    if len(text) > max_size or not text.isascii():
        return None
    return text.decode("ascii")


def _ascii(value: str) -> bytes:
    try:
        return value.encode("ascii")
    except UnicodeEncodeError:
        raise PduError("an optional parameter holds a non-ASCII character") from None
