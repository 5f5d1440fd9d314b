"""China Mobile's CMPP 2.0 / 3.0: PDUs, codec, login digests, Msg_Id, status reports, results.

A pure codec: no sockets, no clock, no logging. :class:`Codec` (built with the version, 0x20 or
0x30) turns the dataclasses of :mod:`~carrier_adapters.cmpp.pdus` into whole PDUs and back and
raises :class:`~carrier_adapters.pdu.PduError` on anything malformed; :mod:`.auth` computes the
``CONNECT`` authenticators from a timestamp the caller passes; :class:`MsgId` keeps the ISMG's
8-byte message id as raw bytes; :func:`classify` reads a ``SUBMIT_RESP`` result for the session.
The wire contract is the CMPP section of docs/operator-dialects.md.
"""

from __future__ import annotations

from carrier_adapters.cmpp.auth import (
    ConnectTimestamp,
    authenticator_ismg,
    authenticator_source,
    connect_timestamp,
    timestamp_text,
)
from carrier_adapters.cmpp.codec import HEADER_LENGTH, MAX_DESTINATIONS, MAX_PDU_LENGTH, Codec
from carrier_adapters.cmpp.msgid import MsgId
from carrier_adapters.cmpp.pdus import (
    ActiveTest,
    ActiveTestResp,
    Command,
    Connect,
    ConnectResp,
    Deliver,
    DeliverResp,
    MsgFmt,
    Pdu,
    Submit,
    SubmitResp,
    Terminate,
    TerminateResp,
)
from carrier_adapters.cmpp.report import StatusReport, decode_report, encode_report, report_length
from carrier_adapters.cmpp.results import ConnectStatus, SubmitResult, classify, classify_connect
from carrier_adapters.cmpp.version import Layout, Version

__all__ = [
    "HEADER_LENGTH",
    "MAX_DESTINATIONS",
    "MAX_PDU_LENGTH",
    "ActiveTest",
    "ActiveTestResp",
    "Codec",
    "Command",
    "Connect",
    "ConnectResp",
    "ConnectStatus",
    "ConnectTimestamp",
    "Deliver",
    "DeliverResp",
    "Layout",
    "MsgFmt",
    "MsgId",
    "Pdu",
    "StatusReport",
    "Submit",
    "SubmitResp",
    "SubmitResult",
    "Terminate",
    "TerminateResp",
    "Version",
    "authenticator_ismg",
    "authenticator_source",
    "classify",
    "classify_connect",
    "connect_timestamp",
    "decode_report",
    "encode_report",
    "report_length",
    "timestamp_text",
]
