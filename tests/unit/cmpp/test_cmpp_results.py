"""What CMPP's SUBMIT_RESP results and CONNECT_RESP statuses mean for the session."""

from __future__ import annotations

import pytest

from carrier_adapters.cmpp import ConnectStatus, SubmitResult, classify, classify_connect
from carrier_adapters.pdu.results import SubmitOutcome


def test_submit_result_codes_match_the_protocol_numbers() -> None:
    """The names carry CMPP 3.0's numbers: 8 flow control, 13 Dest_terminal_Id error."""
    assert SubmitResult(8) is SubmitResult.FLOW_CONTROL
    assert SubmitResult(13) is SubmitResult.BAD_DEST_TERMINAL_ID
    assert ConnectStatus(3) is ConnectStatus.AUTHENTICATION_FAILED


@pytest.mark.parametrize(
    ("result", "outcome"),
    [
        (0, SubmitOutcome.ACCEPTED),
        (8, SubmitOutcome.THROTTLED),
        (13, SubmitOutcome.NOT_SERVED),
        *[
            (code, SubmitOutcome.REJECTED)
            for code in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 255, 0xFFFFFFFF)
        ],
    ],
)
def test_classify_submit_result(result: int, outcome: SubmitOutcome) -> None:
    """0 accepted, 8 throttled (retry after slowing down), 13 not served, every other code rejected."""
    assert classify(result) is outcome


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (0, SubmitOutcome.ACCEPTED),
        (1, SubmitOutcome.REJECTED),
        (2, SubmitOutcome.REJECTED),
        (3, SubmitOutcome.REJECTED),
        (4, SubmitOutcome.REJECTED),
        (5, SubmitOutcome.UNAVAILABLE),
        (9, SubmitOutcome.UNAVAILABLE),
    ],
)
def test_classify_connect_status(status: int, outcome: SubmitOutcome) -> None:
    """Login: 0 accepted; 1-4 refuse our configuration; 5 and above are ISMG errors to retry later."""
    assert classify_connect(status) is outcome
