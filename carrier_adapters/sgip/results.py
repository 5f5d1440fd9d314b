"""SGIP result and error codes, and what each means for the session that received it.

One code space serves every ``*_RESP`` ``Result`` and a ``REPORT``'s ``ErrorCode``: codes 1-20
usually answer commands, 21-33 usually explain failed deliveries in reports. Codes 13-19 are the
China Unicom business checks listed in SGIP 1.3's table; 32-34 read differently in 1.2 and 1.3
(noted per member), and both readings classify alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum
from types import MappingProxyType
from typing import Final

from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.sgip.pdus import ReportState

__all__ = ["Result", "classify", "report_status"]


class Result(IntEnum):
    """Named SGIP codes; a peer may send others (vendor codes 35-99, 5001+ in some SMGs)."""

    OK = 0
    ILLEGAL_LOGIN = 1
    """Wrong login name or password."""
    REPEATED_LOGIN = 2
    """A second ``BIND`` on one connection."""
    TOO_MANY_CONNECTIONS = 3
    WRONG_LOGIN_TYPE = 4
    PARAMETER_FORMAT = 5
    """A field's value does not fit its type or the protocol's range."""
    ILLEGAL_USER_NUMBER = 6
    """``UserNumber``/``ChargeNumber`` malformed (no ``86`` prefix) or not a number this SMG serves."""
    COMMAND_ID = 7
    MESSAGE_LENGTH = 8
    ILLEGAL_SEQUENCE = 9
    """A repeated or malformed sequence number."""
    ILLEGAL_GNS_OPERATION = 10
    NODE_BUSY = 11
    """The SMG's queue is full or it cannot serve for now: flow control."""
    SERVICE_TYPE_UNASSIGNED = 13
    FEE_TYPE = 14
    LINK_ID_MISMATCH = 17
    NOT_SUBSCRIBED = 18
    USER_COUNT_NOT_ONE = 19
    DESTINATION_UNREACHABLE = 21
    """The route exists but the next node cannot serve for now."""
    ROUTING_ERROR = 22
    NO_ROUTE = 23
    INVALID_CHARGE_NUMBER = 24
    USER_UNREACHABLE = 25
    """The handset is off or out of coverage."""
    HANDSET_MEMORY_FULL = 26
    HANDSET_NO_SMS = 27
    HANDSET_RECEIVE_ERROR = 28
    UNKNOWN_USER = 29
    FUNCTION_NOT_PROVIDED = 30
    ILLEGAL_DEVICE = 31
    SYSTEM_FAILURE = 32
    """1.2: system failure. 1.3: malformed packet (a required field empty)."""
    FLOW_LIMIT_EXCEEDED = 33
    """1.2: SMSC queue full. 1.3: the sender exceeded its messages per second."""
    LOGIN_TOO_FREQUENT = 34
    """1.3: too many logins within a minute. 1.2: intelligent-network charging failed."""


_OUTCOMES: Final[Mapping[int, SubmitOutcome]] = MappingProxyType(
    {
        Result.OK: SubmitOutcome.ACCEPTED,
        Result.NODE_BUSY: SubmitOutcome.THROTTLED,
        Result.FLOW_LIMIT_EXCEEDED: SubmitOutcome.THROTTLED,
        Result.TOO_MANY_CONNECTIONS: SubmitOutcome.UNAVAILABLE,
        Result.DESTINATION_UNREACHABLE: SubmitOutcome.UNAVAILABLE,
        Result.ROUTING_ERROR: SubmitOutcome.UNAVAILABLE,
        Result.SYSTEM_FAILURE: SubmitOutcome.UNAVAILABLE,
        Result.LOGIN_TOO_FREQUENT: SubmitOutcome.UNAVAILABLE,
        Result.ILLEGAL_USER_NUMBER: SubmitOutcome.NOT_SERVED,
        Result.NO_ROUTE: SubmitOutcome.NOT_SERVED,
        Result.UNKNOWN_USER: SubmitOutcome.NOT_SERVED,
    }
)


def classify(code: int) -> SubmitOutcome:
    """The session's reading of a ``BIND_RESP`` or ``SUBMIT_RESP`` ``Result``.

    ``THROTTLED``: 11 and 33, send the same ``SUBMIT`` again later. ``UNAVAILABLE``: the SMG side
    failed (3, 21, 22, 32, 34). ``NOT_SERVED``: the number is not the SMG's to reach (6, 23, 29).
    Every other code, unknown ones included, is ``REJECTED``: the request itself was refused.
    """
    return _OUTCOMES.get(code, SubmitOutcome.REJECTED)


def report_status(state: int) -> str | None:
    """The status word of a ``REPORT`` ``State``: ``DELIVRD``, ``UNDELIV``, or ``None`` if not final."""
    if state == ReportState.DELIVERED:
        return "DELIVRD"
    if state == ReportState.FAILED:
        return "UNDELIV"
    return None
