"""SMGP 3.0 ``Status`` codes (LOGIN_RESP, SUBMIT_RESP, DELIVER_RESP) and what they mean for a session.

SMGP 3.0 has no flow-control status of its own: gateways answer ``1`` (system busy) when an SP
sends faster than its contracted rate, so ``1`` is :attr:`SubmitOutcome.THROTTLED`. ``75`` is the
SP's *daily* volume being used up and ``74`` a period in which the SP may not send: slowing down
does not help, sending later does, so both are :attr:`SubmitOutcome.UNAVAILABLE`. A routing
failure (``39``, ``58``) means the gateway has no route to the number: not served. ``47``
(illegal ``DestTermID``) is a malformed number, our request's fault: rejected.
"""

from __future__ import annotations

from enum import IntEnum

from carrier_adapters.pdu.results import SubmitOutcome

__all__ = ["Status", "classify"]


class Status(IntEnum):
    """The status codes SMGP 3.0 defines (3-9, 13-19, 23-29 and 50-55 are reserved)."""

    OK = 0
    SYSTEM_BUSY = 1
    TOO_MANY_CONNECTIONS = 2
    MESSAGE_STRUCTURE_ERROR = 10
    COMMAND_ERROR = 11
    SEQUENCE_REPEATED = 12
    IP_ADDRESS_ERROR = 20
    AUTHENTICATION_ERROR = 21
    VERSION_TOO_HIGH = 22
    ILLEGAL_MSG_TYPE = 30
    ILLEGAL_PRIORITY = 31
    ILLEGAL_FEE_TYPE = 32
    ILLEGAL_FEE_CODE = 33
    ILLEGAL_MSG_FORMAT = 34
    ILLEGAL_TIME_FORMAT = 35
    ILLEGAL_MSG_LENGTH = 36
    VALIDITY_EXPIRED = 37
    ILLEGAL_QUERY_TYPE = 38
    ROUTING_ERROR = 39
    ILLEGAL_FIXED_FEE = 40
    ILLEGAL_UPDATE_TYPE = 41
    ILLEGAL_ROUTE_ID = 42
    ILLEGAL_SERVICE_ID = 43
    ILLEGAL_VALID_TIME = 44
    ILLEGAL_AT_TIME = 45
    ILLEGAL_SRC_TERM_ID = 46
    ILLEGAL_DEST_TERM_ID = 47
    ILLEGAL_CHARGE_TERM_ID = 48
    ILLEGAL_SP_CODE = 49
    ILLEGAL_SRC_GATEWAY_ID = 56
    ILLEGAL_QUERY_TERM_ID = 57
    NO_MATCHING_ROUTE = 58
    ILLEGAL_SP_TYPE = 59
    ILLEGAL_LAST_ROUTE_ID = 60
    ILLEGAL_ROUTE_TYPE = 61
    ILLEGAL_DEST_GATEWAY_ID = 62
    ILLEGAL_DEST_GATEWAY_IP = 63
    ILLEGAL_DEST_GATEWAY_PORT = 64
    ILLEGAL_TERM_RANGE_ID = 65
    ILLEGAL_PROVINCE_CODE = 66
    ILLEGAL_USER_TYPE = 67
    ROUTE_UPDATE_NOT_SUPPORTED = 68
    ILLEGAL_SP_ID = 69
    ILLEGAL_SP_ACCESS_TYPE = 70
    ROUTE_UPDATE_FAILED = 71
    ILLEGAL_TIMESTAMP = 72
    ILLEGAL_M_SERVICE_ID = 73
    SP_SENDING_PERIOD_FORBIDDEN = 74
    SP_DAILY_VOLUME_EXCEEDED = 75
    SP_ACCOUNT_EXPIRED = 76


_OUTCOMES: dict[int, SubmitOutcome] = {
    Status.OK: SubmitOutcome.ACCEPTED,
    Status.SYSTEM_BUSY: SubmitOutcome.THROTTLED,
    Status.TOO_MANY_CONNECTIONS: SubmitOutcome.UNAVAILABLE,
    Status.SP_SENDING_PERIOD_FORBIDDEN: SubmitOutcome.UNAVAILABLE,
    Status.SP_DAILY_VOLUME_EXCEEDED: SubmitOutcome.UNAVAILABLE,
    Status.ROUTING_ERROR: SubmitOutcome.NOT_SERVED,
    Status.NO_MATCHING_ROUTE: SubmitOutcome.NOT_SERVED,
}


def classify(code: int) -> SubmitOutcome:
    """What ``code`` means: 0 accepted, 1 throttled, 2/74/75 unavailable (retry later),
    39/58 no route to the destination (not served), any other code (defined or not) rejected."""
    return _OUTCOMES.get(code, SubmitOutcome.REJECTED)
