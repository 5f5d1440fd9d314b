"""The SMGP 3.0 PDUs of the submit, report and MO paths and the session commands.

Field names follow the protocol in snake_case. Fixed-size Octet String fields are ``str`` (ASCII,
NUL-padded on the wire) except the binary ones: ``MsgID`` (10 bytes), the 16-byte
authenticators and ``Reserve``, which are ``bytes``. ``msg_content`` is the raw content, already
encoded as ``msg_format`` says (and prefixed with its UDH when ``options.tp_udhi`` is 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from carrier_adapters.smgp.tlv import Options

__all__ = [
    "VERSION",
    "ActiveTest",
    "ActiveTestResp",
    "Command",
    "Deliver",
    "DeliverResp",
    "Exit",
    "ExitResp",
    "Login",
    "LoginMode",
    "LoginResp",
    "MsgFormat",
    "MsgType",
    "Pdu",
    "Submit",
    "SubmitResp",
]

VERSION = 0x30
"""``ClientVersion`` / ``ServerVersion`` of SMGP 3.0."""


class Command(IntEnum):
    """``RequestID`` values; a response is its request's id with bit 31 set."""

    LOGIN = 0x00000001
    SUBMIT = 0x00000002
    DELIVER = 0x00000003
    ACTIVE_TEST = 0x00000004
    EXIT = 0x00000006
    LOGIN_RESP = 0x80000001
    SUBMIT_RESP = 0x80000002
    DELIVER_RESP = 0x80000003
    ACTIVE_TEST_RESP = 0x80000004
    EXIT_RESP = 0x80000006


class LoginMode(IntEnum):
    """``LoginMode``: what the client will do on the connection."""

    SEND = 0
    RECEIVE = 1
    TRANSMIT = 2


class MsgType(IntEnum):
    """``MsgType`` of a SUBMIT."""

    MO = 0
    MT = 6


class MsgFormat(IntEnum):
    """``MsgFormat``: the encoding of ``MsgContent``."""

    ASCII = 0
    BINARY = 4
    UCS2 = 8
    GB18030 = 15


@dataclass(frozen=True, slots=True)
class Login:
    """LOGIN: ``ClientID`` (8), ``AuthenticatorClient`` (16), ``LoginMode``, ``TimeStamp``, version."""

    client_id: str
    authenticator_client: bytes
    login_mode: int
    timestamp: int
    client_version: int = VERSION


@dataclass(frozen=True, slots=True)
class LoginResp:
    """LOGIN_RESP: ``Status`` (uint32), ``AuthenticatorServer`` (16), ``ServerVersion``."""

    status: int
    authenticator_server: bytes
    server_version: int = VERSION


@dataclass(frozen=True, slots=True)
class Exit:
    """EXIT: either side ends the session (header only)."""


@dataclass(frozen=True, slots=True)
class ExitResp:
    """EXIT_RESP (header only)."""


@dataclass(frozen=True, slots=True)
class ActiveTest:
    """ACTIVE_TEST: the link check (header only)."""


@dataclass(frozen=True, slots=True)
class ActiveTestResp:
    """ACTIVE_TEST_RESP (header only)."""


@dataclass(frozen=True, slots=True)
class Submit:
    """SUBMIT: an MT message from the SP to one or more terminals (1 to 100 ``dest_term_ids``)."""

    need_report: int
    priority: int
    service_id: str
    fee_type: str
    fee_code: str
    fixed_fee: str
    msg_format: int
    valid_time: str
    at_time: str
    src_term_id: str
    charge_term_id: str
    dest_term_ids: tuple[str, ...]
    msg_content: bytes
    msg_type: int = MsgType.MT
    reserve: bytes = b""
    options: Options = field(default_factory=Options)


@dataclass(frozen=True, slots=True)
class SubmitResp:
    """SUBMIT_RESP: the gateway's 10-byte ``MsgID`` for the message and ``Status``."""

    msg_id: bytes
    status: int


@dataclass(frozen=True, slots=True)
class Deliver:
    """DELIVER: an MO message, or a status report when ``is_report`` is 1 (``msg_content`` then
    holds the report text, see :mod:`carrier_adapters.smgp.report`)."""

    msg_id: bytes
    is_report: int
    msg_format: int
    recv_time: str
    src_term_id: str
    dest_term_id: str
    msg_content: bytes
    reserve: bytes = b""
    options: Options = field(default_factory=Options)


@dataclass(frozen=True, slots=True)
class DeliverResp:
    """DELIVER_RESP: the DELIVER's ``MsgID`` echoed and ``Status``."""

    msg_id: bytes
    status: int


Pdu = (
    Login
    | LoginResp
    | Exit
    | ExitResp
    | ActiveTest
    | ActiveTestResp
    | Submit
    | SubmitResp
    | Deliver
    | DeliverResp
)
