"""CMPP result codes and what each means for the session that receives it.

``CONNECT_RESP`` ``Status`` and ``SUBMIT_RESP`` ``Result`` as CMPP 3.0 names them (2.0 defines
the same codes up to 8 and calls every higher one "other error"; the 3.0 meanings are used for
both versions). Codes without a name keep their number and classify as "other error".
"""

from __future__ import annotations

from enum import IntEnum

from carrier_adapters.pdu.results import SubmitOutcome

__all__ = ["ConnectStatus", "SubmitResult", "classify", "classify_connect"]


class ConnectStatus(IntEnum):
    """``CMPP_CONNECT_RESP`` ``Status``."""

    OK = 0
    BAD_STRUCTURE = 1
    BAD_SOURCE_ADDR = 2
    AUTHENTICATION_FAILED = 3
    VERSION_TOO_HIGH = 4
    OTHER_ERROR = 5


class SubmitResult(IntEnum):
    """``CMPP_SUBMIT_RESP`` ``Result``."""

    OK = 0
    BAD_STRUCTURE = 1
    BAD_COMMAND = 2
    DUPLICATE_SEQUENCE = 3
    BAD_MSG_LENGTH = 4
    BAD_FEE_CODE = 5
    MSG_TOO_LONG = 6
    BAD_SERVICE_ID = 7
    FLOW_CONTROL = 8
    FEE_TERMINAL_NOT_SERVED = 9
    BAD_SRC_ID = 10
    BAD_MSG_SRC = 11
    BAD_FEE_TERMINAL_ID = 12
    BAD_DEST_TERMINAL_ID = 13


def classify(result: int) -> SubmitOutcome:
    """A ``SUBMIT_RESP`` ``Result``: 0 accepted, 8 throttled, 13 the number is not served here.

    Every other code (1-7, 9-12, and unnamed ones) says the request itself was refused: sending
    it again unchanged cannot succeed.
    """
    if result == SubmitResult.OK:
        return SubmitOutcome.ACCEPTED
    if result == SubmitResult.FLOW_CONTROL:
        return SubmitOutcome.THROTTLED
    if result == SubmitResult.BAD_DEST_TERMINAL_ID:
        return SubmitOutcome.NOT_SERVED
    return SubmitOutcome.REJECTED


def classify_connect(status: int) -> SubmitOutcome:
    """A ``CONNECT_RESP`` ``Status``: 0 accepted; 1-4 refuse our configuration (source address,
    secret, version); 5 and above are the ISMG's other errors, worth a later retry."""
    if status == ConnectStatus.OK:
        return SubmitOutcome.ACCEPTED
    if status < ConnectStatus.OTHER_ERROR:
        return SubmitOutcome.REJECTED
    return SubmitOutcome.UNAVAILABLE
