"""CMPP 2.0 / 3.0 PDUs: one frozen dataclass per command, field names as in the protocol text.

Version-specific fields (``*_terminal_type``, ``link_id``) exist in both versions' dataclasses;
in 2.0 they keep their defaults (0 and ``""``) and encoding another value raises ``PduError``.
Terminal ids are ASCII strings of at most 21 (2.0) or 32 (3.0) characters; ``msg_id`` is the raw
8-byte ``Msg_Id`` (see :class:`~carrier_adapters.cmpp.msgid.MsgId`); ``content`` is
``Msg_Content`` as bytes, in the coding ``msg_fmt`` names, UDH included when ``tp_udhi`` is 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import TypeAlias

__all__ = [
    "ActiveTest",
    "ActiveTestResp",
    "Command",
    "Connect",
    "ConnectResp",
    "Deliver",
    "DeliverResp",
    "MsgFmt",
    "Pdu",
    "Submit",
    "SubmitResp",
    "Terminate",
    "TerminateResp",
]

EMPTY_MSG_ID = bytes(8)


class Command(IntEnum):
    """``Command_Id`` values; a response is its request's id with bit 31 set."""

    CONNECT = 0x00000001
    CONNECT_RESP = 0x80000001
    TERMINATE = 0x00000002
    TERMINATE_RESP = 0x80000002
    SUBMIT = 0x00000004
    SUBMIT_RESP = 0x80000004
    DELIVER = 0x00000005
    DELIVER_RESP = 0x80000005
    ACTIVE_TEST = 0x00000008
    ACTIVE_TEST_RESP = 0x80000008


class MsgFmt(IntEnum):
    """``Msg_Fmt``: the coding of ``Msg_Content``."""

    ASCII = 0
    BINARY = 4
    UCS2 = 8
    GBK = 15


@dataclass(frozen=True, slots=True, kw_only=True)
class Connect:
    """``CMPP_CONNECT``: the SP logs in. ``timestamp`` is ``MMDDHHMMSS`` read as a decimal number."""

    source_addr: str
    authenticator_source: bytes
    version: int
    timestamp: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectResp:
    """``CMPP_CONNECT_RESP``; ``authenticator_ismg`` is 16 NUL bytes when the login failed."""

    status: int
    authenticator_ismg: bytes
    version: int


@dataclass(frozen=True, slots=True)
class Terminate:
    """``CMPP_TERMINATE``: either side ends the session (no body)."""


@dataclass(frozen=True, slots=True)
class TerminateResp:
    """``CMPP_TERMINATE_RESP`` (no body)."""


@dataclass(frozen=True, slots=True)
class ActiveTest:
    """``CMPP_ACTIVE_TEST``: the heartbeat (no body)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActiveTestResp:
    """``CMPP_ACTIVE_TEST_RESP``: one ``Reserved`` byte."""

    reserved: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Submit:
    """``CMPP_SUBMIT``: one SMS (or one part of a long one) to ``dest_terminal_ids``."""

    msg_id: bytes = EMPTY_MSG_ID
    pk_total: int = 1
    pk_number: int = 1
    registered_delivery: int = 0
    msg_level: int = 0
    service_id: str = ""
    fee_user_type: int = 0
    fee_terminal_id: str = ""
    fee_terminal_type: int = 0
    tp_pid: int = 0
    tp_udhi: int = 0
    msg_fmt: int = MsgFmt.ASCII
    msg_src: str = ""
    fee_type: str = ""
    fee_code: str = ""
    valid_time: str = ""
    at_time: str = ""
    src_id: str = ""
    dest_terminal_ids: tuple[str, ...] = ()
    dest_terminal_type: int = 0
    content: bytes = b""
    link_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitResp:
    """``CMPP_SUBMIT_RESP``: the ``Msg_Id`` the ISMG gave the SMS, and its ``Result``."""

    msg_id: bytes
    result: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Deliver:
    """``CMPP_DELIVER``: an MO SMS (``registered_delivery`` 0) or a status report (1).

    A report's ``content`` is the report body (``carrier_adapters.cmpp.report``).
    """

    msg_id: bytes
    dest_id: str
    service_id: str = ""
    tp_pid: int = 0
    tp_udhi: int = 0
    msg_fmt: int = MsgFmt.ASCII
    src_terminal_id: str
    src_terminal_type: int = 0
    registered_delivery: int = 0
    content: bytes
    link_id: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverResp:
    """``CMPP_DELIVER_RESP``: the ``Msg_Id`` of the DELIVER answered, and a ``Result``."""

    msg_id: bytes
    result: int = 0


Pdu: TypeAlias = (
    Connect
    | ConnectResp
    | Terminate
    | TerminateResp
    | Submit
    | SubmitResp
    | Deliver
    | DeliverResp
    | ActiveTest
    | ActiveTestResp
)
