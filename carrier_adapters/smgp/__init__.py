"""SMGP 3.0 (China Telecom's SMGW) codec: PDUs, optional parameters, authenticators, reports.

Pure data and bytes: no sockets, no clock, no logging. :class:`Codec` turns each PDU dataclass
into a whole PDU (header included) and back, raising :class:`~carrier_adapters.pdu.PduError` for
anything malformed; :func:`classify` reads a ``Status`` for the session layer. The wire format
is specified for implementers in docs/operator-dialects.md ("SMGP 3.0").
"""

from __future__ import annotations

from carrier_adapters.smgp.auth import BEIJING, authenticator_client, authenticator_server, login_timestamp
from carrier_adapters.smgp.codec import HEADER_LENGTH, MAX_DEST_TERM_IDS, MAX_PDU_LENGTH, Codec
from carrier_adapters.smgp.msgid import (
    MSG_ID_LENGTH,
    MsgIdParts,
    compose_msg_id,
    msg_id_from_hex,
    msg_id_hex,
    parse_msg_id,
)
from carrier_adapters.smgp.pdus import (
    VERSION,
    ActiveTest,
    ActiveTestResp,
    Command,
    Deliver,
    DeliverResp,
    Exit,
    ExitResp,
    Login,
    LoginMode,
    LoginResp,
    MsgFormat,
    MsgType,
    Pdu,
    Submit,
    SubmitResp,
)
from carrier_adapters.smgp.report import DELIVERED, REPORT_LENGTH, Report, decode_report, encode_report
from carrier_adapters.smgp.results import Status, classify
from carrier_adapters.smgp.tlv import Options, Tag

__all__ = [
    "BEIJING",
    "DELIVERED",
    "HEADER_LENGTH",
    "MAX_DEST_TERM_IDS",
    "MAX_PDU_LENGTH",
    "MSG_ID_LENGTH",
    "REPORT_LENGTH",
    "VERSION",
    "ActiveTest",
    "ActiveTestResp",
    "Codec",
    "Command",
    "Deliver",
    "DeliverResp",
    "Exit",
    "ExitResp",
    "Login",
    "LoginMode",
    "LoginResp",
    "MsgFormat",
    "MsgIdParts",
    "MsgType",
    "Options",
    "Pdu",
    "Report",
    "Status",
    "Submit",
    "SubmitResp",
    "Tag",
    "authenticator_client",
    "authenticator_server",
    "classify",
    "compose_msg_id",
    "decode_report",
    "encode_report",
    "login_timestamp",
    "msg_id_from_hex",
    "msg_id_hex",
    "parse_msg_id",
]
