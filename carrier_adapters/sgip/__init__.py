"""SGIP 1.2, China Unicom's SP-SMG protocol: PDUs, their codec and result codes (no sockets).

Two kinds of connection, each opened by the side with something to send: the SP binds to the SMG
(``Login_Type`` 1) to ``SUBMIT``; the SMG binds to the SP's listener (``Login_Type`` 2) to
``DELIVER`` MO messages and ``REPORT`` delivery states. There is no heartbeat: a client sends
``UNBIND`` when it has nothing left to send and binds again when it has. Every answer echoes its
command's 12-byte :class:`SgipSequence`; a ``REPORT`` names its ``SUBMIT`` by that sequence.
The wire contract is ``docs/operator-dialects.md`` ("SGIP 1.2"); :class:`Codec` raises
:class:`~carrier_adapters.pdu.PduError` on anything that breaks it.
"""

from __future__ import annotations

from carrier_adapters.sgip.codec import HEADER_LENGTH, MAX_PDU_LENGTH, MAX_USER_COUNT, Codec
from carrier_adapters.sgip.pdus import (
    SP_PAYS,
    Bind,
    BindResp,
    Command,
    Deliver,
    DeliverResp,
    LoginType,
    MessageCoding,
    Pdu,
    Report,
    ReportFlag,
    ReportResp,
    ReportState,
    Submit,
    SubmitResp,
    Unbind,
    UnbindResp,
)
from carrier_adapters.sgip.results import Result, classify, report_status
from carrier_adapters.sgip.sequence import BEIJING, SgipSequence
from carrier_adapters.sgip.user_numbers import from_user_number, to_user_number

__all__ = [
    "BEIJING",
    "HEADER_LENGTH",
    "MAX_PDU_LENGTH",
    "MAX_USER_COUNT",
    "SP_PAYS",
    "Bind",
    "BindResp",
    "Codec",
    "Command",
    "Deliver",
    "DeliverResp",
    "LoginType",
    "MessageCoding",
    "Pdu",
    "Report",
    "ReportFlag",
    "ReportResp",
    "ReportState",
    "Result",
    "SgipSequence",
    "Submit",
    "SubmitResp",
    "Unbind",
    "UnbindResp",
    "classify",
    "from_user_number",
    "report_status",
    "to_user_number",
]
