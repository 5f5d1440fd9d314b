"""SGIP 1.2 commands of the SP-SMG interface, one frozen dataclass per command body.

Field names are the protocol's in snake case. ``Text`` fields are ``str`` (ASCII, NUL-padded on
the wire), ``Integer`` fields ``int``, message contents and ``Reserve`` raw ``bytes``. Counts and
lengths on the wire (``UserCount``, ``MessageLength``) are not fields: they follow from the tuple
or the content. Phone numbers are the wire's ``86``-prefixed form (see :mod:`.user_numbers`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Final, TypeAlias

from carrier_adapters.sgip.sequence import SgipSequence

__all__ = [
    "SP_PAYS",
    "Bind",
    "BindResp",
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
    "Submit",
    "SubmitResp",
    "Unbind",
    "UnbindResp",
]

SP_PAYS: Final = "0" * 21
"""``ChargeNumber`` of a message the SP pays for (21 zeros)."""


class Command(IntEnum):
    """``Command_ID`` values; a response is its request's id with bit 31 set."""

    BIND = 0x00000001
    BIND_RESP = 0x80000001
    UNBIND = 0x00000002
    UNBIND_RESP = 0x80000002
    SUBMIT = 0x00000003
    SUBMIT_RESP = 0x80000003
    DELIVER = 0x00000004
    DELIVER_RESP = 0x80000004
    REPORT = 0x00000005
    REPORT_RESP = 0x80000005


class LoginType(IntEnum):
    """``Login_Type`` of a ``BIND``: who opened the connection, to send what."""

    SP_TO_SMG = 1
    """The SP connects to the SMG to send ``SUBMIT``."""
    SMG_TO_SP = 2
    """The SMG connects to the SP's listener to send ``DELIVER`` (MO) and ``REPORT``."""


class MessageCoding(IntEnum):
    """``MessageCoding`` values the SP-SMG interface uses."""

    ASCII = 0
    BINARY = 4
    UCS2 = 8
    GBK = 15


class ReportFlag(IntEnum):
    """``ReportFlag`` of a ``SUBMIT``."""

    ON_FAILURE = 0
    ALWAYS = 1
    NEVER = 2


class ReportState(IntEnum):
    """``State`` of a ``REPORT``: only ``DELIVERED`` and ``FAILED`` are final."""

    DELIVERED = 0
    WAITING = 1
    FAILED = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Bind:
    """``BIND``: ``Login_Type`` (:class:`LoginType`), ``Login_Name`` and password (16 each).

    The password stays out of ``repr`` so a logged PDU does not leak it.
    """

    login_type: int
    login_name: str
    login_password: str = field(repr=False)
    reserve: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class BindResp:
    """``BIND_RESP``: ``Result`` 0 or an error code (:mod:`.results`)."""

    result: int
    reserve: bytes = b""


@dataclass(frozen=True, slots=True)
class Unbind:
    """``UNBIND``: no body; the peer answers ``UNBIND_RESP`` and both close the connection."""


@dataclass(frozen=True, slots=True)
class UnbindResp:
    """``UNBIND_RESP``: no body."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Submit:
    """``SUBMIT``: one MT short message to 1-100 ``user_numbers``.

    Defaults describe a free notification paid by the SP that asks for a report either way.
    ``fee_value``/``given_value`` are decimal strings (cents); ``expire_time``/``schedule_time``
    ``yymmddhhmmss032+`` or empty.
    """

    sp_number: str
    charge_number: str = SP_PAYS
    user_numbers: tuple[str, ...]
    corp_id: str
    service_type: str
    fee_type: int = 1
    fee_value: str = "0"
    given_value: str = "0"
    agent_flag: int = 0
    morelateto_mt_flag: int = 2
    priority: int = 0
    expire_time: str = ""
    schedule_time: str = ""
    report_flag: int = ReportFlag.ALWAYS
    tp_pid: int = 0
    tp_udhi: int = 0
    message_coding: int = MessageCoding.UCS2
    message_type: int = 0
    message_content: bytes
    reserve: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitResp:
    """``SUBMIT_RESP``: ``Result``; the header's sequence is the one reports will name."""

    result: int
    reserve: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class Deliver:
    """``DELIVER``: one MO short message from ``user_number`` to ``sp_number``."""

    user_number: str
    sp_number: str
    tp_pid: int = 0
    tp_udhi: int = 0
    message_coding: int = MessageCoding.UCS2
    message_content: bytes
    reserve: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverResp:
    """``DELIVER_RESP``: ``Result``."""

    result: int
    reserve: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """``REPORT``: the state of the ``SUBMIT`` whose header carried ``submit_sequence_number``.

    ``report_type`` 0 reports on a ``SUBMIT`` (1: on a forwarded ``DELIVER``, between SMGs);
    ``state`` a :class:`ReportState`; ``error_code`` the failure's code when ``state`` is 2, else 0.
    """

    submit_sequence_number: SgipSequence
    report_type: int = 0
    user_number: str
    state: int
    error_code: int = 0
    reserve: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportResp:
    """``REPORT_RESP``: ``Result``."""

    result: int
    reserve: bytes = b""


Pdu: TypeAlias = (
    Bind | BindResp | Unbind | UnbindResp | Submit | SubmitResp | Deliver | DeliverResp | Report | ReportResp
)
