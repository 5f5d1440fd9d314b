"""The status report carried in a DELIVER's ``MsgContent`` when ``IsReport`` is 1.

Layout (ASCII except the id, 122 bytes when ``Text`` fills its 20 bytes)::

    id:<MsgID, 10 binary bytes> sub:SSS dlvrd:DDD Submit date:YYMMDDhhmm done date:YYMMDDhhmm
    stat:SSSSSSS err:EEE Text:<20 bytes>

one space between items, no line break. :func:`encode_report` writes exactly that, ``Text``
NUL-padded to 20 bytes. :func:`decode_report` also accepts what gateways are seen to send
instead: labels in any case with ``_`` for the space (``submit_date:``), the id as 20 hex
digits, and a ``Text`` shorter than 20 bytes; anything else raises :class:`PduError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from carrier_adapters.pdu import PduError
from carrier_adapters.smgp.msgid import MSG_ID_LENGTH

__all__ = ["DELIVERED", "REPORT_LENGTH", "Report", "decode_report", "encode_report"]

DELIVERED = "DELIVRD"
REPORT_LENGTH = 122
_TEXT_LENGTH = 20

_TAIL = re.compile(
    rb" sub:(.{3}) dlvrd:(.{3}) submit[ _]date:(\d{10}) done[ _]date:(\d{10})"
    rb" stat:(.{7}) err:(.{3}) text:(.*)",
    re.IGNORECASE | re.DOTALL,
)
_HEX_ID = re.compile(rb"[0-9a-fA-F]{20}")


@dataclass(frozen=True, slots=True)
class Report:
    """A status report on the submitted message ``msg_id``; ``stat`` ``DELIVRD`` is the only success.

    ``submit_date`` and ``done_date`` are ``YYMMDDhhmm`` (Beijing time); ``err`` is the gateway's
    3-character error code (``000`` when delivered); ``text`` is the start of the message, raw.
    """

    msg_id: bytes
    stat: str
    submit_date: str
    done_date: str
    err: str = "000"
    sub: str = "001"
    dlvrd: str = "001"
    text: bytes = b""

    @property
    def delivered(self) -> bool:
        """Whether the message reached the phone."""
        return self.stat == DELIVERED


def encode_report(report: Report) -> bytes:
    """The report's ``MsgContent`` bytes; a field of the wrong size raises :class:`PduError`."""
    _check(len(report.msg_id) == MSG_ID_LENGTH, "the report id is a 10-byte MsgID")
    for name, value, size in (
        ("sub", report.sub, 3),
        ("dlvrd", report.dlvrd, 3),
        ("stat", report.stat, 7),
        ("err", report.err, 3),
    ):
        _check(len(value) == size and value.isascii() and value.isprintable(), f"{name} is {size} ASCII")
    for name, value in (("submit_date", report.submit_date), ("done_date", report.done_date)):
        _check(len(value) == 10 and value.isascii() and value.isdigit(), f"{name} is 10 digits")
    _check(len(report.text) <= _TEXT_LENGTH, "the report text is at most 20 bytes")
    head = (
        f" sub:{report.sub} dlvrd:{report.dlvrd} Submit date:{report.submit_date}"
        f" done date:{report.done_date} stat:{report.stat} err:{report.err} Text:"
    )
    return (
        b"id:" + report.msg_id + head.encode("ascii") + report.text + bytes(_TEXT_LENGTH - len(report.text))
    )


def decode_report(content: bytes) -> Report:
    """The report in a DELIVER's ``MsgContent`` (``IsReport`` 1)."""
    _check(content[:3] == b"id:", "a report starts with id:")
    msg_id = content[3:13]
    tail = _TAIL.fullmatch(content, 13)
    if tail is None and _HEX_ID.fullmatch(content, 3, 23):
        msg_id = bytes.fromhex(content[3:23].decode("ascii"))
        tail = _TAIL.fullmatch(content, 23)
    if tail is None or len(msg_id) != MSG_ID_LENGTH:
        raise PduError("not an SMGP status report")
    sub, dlvrd, submit_date, done_date, stat, err, text = tail.groups()
    try:
        return Report(
            msg_id=msg_id,
            sub=sub.decode("ascii"),
            dlvrd=dlvrd.decode("ascii"),
            submit_date=submit_date.decode("ascii"),
            done_date=done_date.decode("ascii"),
            stat=stat.decode("ascii"),
            err=err.decode("ascii"),
            text=text.rstrip(b"\0"),
        )
    except UnicodeDecodeError:
        raise PduError("a report field holds a non-ASCII byte") from None


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise PduError(message)
