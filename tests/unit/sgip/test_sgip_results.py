"""SGIP result codes as the session reads them, report states, and the 86-prefixed numbers."""

from __future__ import annotations

import pytest

from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.sgip import (
    ReportState,
    Result,
    classify,
    from_user_number,
    report_status,
    to_user_number,
)


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (0, SubmitOutcome.ACCEPTED),
        (11, SubmitOutcome.THROTTLED),  # node busy: flow control
        (33, SubmitOutcome.THROTTLED),  # over the flow limit (1.3) / SMSC queue full (1.2)
        (1, SubmitOutcome.REJECTED),  # illegal login
        (2, SubmitOutcome.REJECTED),  # repeated login
        (4, SubmitOutcome.REJECTED),  # wrong login type
        (5, SubmitOutcome.REJECTED),  # parameter format
        (7, SubmitOutcome.REJECTED),  # command id
        (8, SubmitOutcome.REJECTED),  # message length
        (9, SubmitOutcome.REJECTED),  # illegal sequence
        (13, SubmitOutcome.REJECTED),  # service type not assigned
        (19, SubmitOutcome.REJECTED),  # UserCount is not 1
        (24, SubmitOutcome.REJECTED),  # invalid charge number
        (26, SubmitOutcome.REJECTED),  # handset memory full
        (3, SubmitOutcome.UNAVAILABLE),  # too many connections
        (21, SubmitOutcome.UNAVAILABLE),  # destination node cannot serve now
        (22, SubmitOutcome.UNAVAILABLE),  # routing error
        (32, SubmitOutcome.UNAVAILABLE),  # system failure
        (34, SubmitOutcome.UNAVAILABLE),  # logins too frequent
        (6, SubmitOutcome.NOT_SERVED),  # illegal phone number
        (23, SubmitOutcome.NOT_SERVED),  # no route to the number
        (29, SubmitOutcome.NOT_SERVED),  # unknown user
        (99, SubmitOutcome.REJECTED),  # a vendor code nobody named
        (255, SubmitOutcome.REJECTED),
    ],
)
def test_classify(code: int, outcome: SubmitOutcome) -> None:
    """Each result code maps to what the session does next; unknown codes are rejections."""
    assert classify(code) is outcome


def test_named_codes_keep_the_protocol_numbers() -> None:
    """The enum's values are the protocol's code numbers."""
    assert Result(11) is Result.NODE_BUSY
    assert Result(6) is Result.ILLEGAL_USER_NUMBER
    assert Result(21) is Result.DESTINATION_UNREACHABLE


@pytest.mark.parametrize(
    ("state", "word"),
    [
        (ReportState.DELIVERED, "DELIVRD"),
        (ReportState.FAILED, "UNDELIV"),
        (ReportState.WAITING, None),
        (7, None),
    ],
)
def test_report_status_words(state: int, word: str | None) -> None:
    """State 0 reads DELIVRD, state 2 UNDELIV; waiting and unknown states are not final."""
    assert report_status(state) == word


def test_user_numbers_carry_the_86_prefix() -> None:
    """A national number travels as 86 + number and comes back without the prefix."""
    assert to_user_number("13012345678") == "8613012345678"
    assert from_user_number("8613012345678") == "13012345678"


def test_a_received_bare_national_number_is_read_as_it_is() -> None:
    """Some SMGs leave the 86 out of numbers they send; the national number is still read."""
    assert from_user_number("13012345678") == "13012345678"


@pytest.mark.parametrize(
    "value", ["86130123456", "8612012345678", "+8613012345678", "0013012345678", "10655", ""]
)
def test_from_user_number_refuses_what_is_not_86_and_a_mobile_number(value: str) -> None:
    """A value without 86 + 11-digit mobile number is a ValueError that does not echo it."""
    with pytest.raises(ValueError) as raised:
        from_user_number(value)
    assert value == "" or value not in str(raised.value)


@pytest.mark.parametrize("value", ["8613012345678", "1301234567", "23012345678"])
def test_to_user_number_refuses_what_is_not_a_national_mobile_number(value: str) -> None:
    """Only an 11-digit national mobile number gets the prefix."""
    with pytest.raises(ValueError):
        to_user_number(value)
