"""The status report a ``DELIVER`` with ``Registered_Delivery`` 1 carries as its ``Msg_Content``.

``Msg_Id(8) Stat(7) Submit_time(10) Done_time(10) Dest_terminal_Id(21|32) SMSC_sequence(4)``:
60 bytes in CMPP 2.0, 71 in 3.0. The text fields are ASCII whatever the DELIVER's ``Msg_Fmt``.
``stat`` is kept as sent (``DELIVRD`` is the only success; ``UNDELIV``, ``EXPIRED``, carrier codes
such as ``MA:0001`` are failures); the times are ``YYMMDDHHMM`` as sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from carrier_adapters.cmpp.version import Layout
from carrier_adapters.pdu import PduError, PduReader, PduWriter

__all__ = ["StatusReport", "decode_report", "encode_report", "report_length"]

_FIXED = 8 + 7 + 10 + 10 + 4


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusReport:
    """One delivery report on the SMS part whose ``SUBMIT_RESP`` gave ``msg_id``."""

    msg_id: bytes
    stat: str
    submit_time: str
    done_time: str
    dest_terminal_id: str
    smsc_sequence: int = 0

    @property
    def delivered(self) -> bool:
        """Whether the status word is ``DELIVRD``."""
        return self.stat == "DELIVRD"


def report_length(version: int) -> int:
    """The report body's length in ``version``: 60 (2.0) or 71 (3.0)."""
    return _FIXED + Layout.of(version).terminal_id_size


def encode_report(report: StatusReport, version: int) -> bytes:
    """The report body in ``version``'s layout."""
    if len(report.msg_id) != 8:
        raise PduError("a Msg_Id is 8 bytes")
    writer = PduWriter().raw(report.msg_id).text(report.stat, 7)
    writer.text(report.submit_time, 10).text(report.done_time, 10)
    writer.text(report.dest_terminal_id, Layout.of(version).terminal_id_size)
    return writer.u32(report.smsc_sequence).getvalue()


def decode_report(content: bytes) -> StatusReport:
    """A report body of either version, told apart by its length (60 or 71 bytes).

    Accepting both lets a 3.0 session read ISMGs that send the 2.0 layout (a known deviation).
    """
    sizes = {_FIXED + 21: 21, _FIXED + 32: 32}
    if len(content) not in sizes:
        raise PduError(f"a status report is 60 or 71 bytes, not {len(content)}")
    reader = PduReader(content)
    report = StatusReport(
        msg_id=reader.raw(8),
        stat=reader.text(7),
        submit_time=reader.text(10),
        done_time=reader.text(10),
        dest_terminal_id=reader.text(sizes[len(content)]),
        smsc_sequence=reader.u32(),
    )
    reader.end()
    return report
