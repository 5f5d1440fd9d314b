"""command_status classification for the session layer and status names for logs."""

from __future__ import annotations

import pytest

from carrier_adapters.pdu.results import SubmitOutcome
from carrier_adapters.smpp import CommandStatus, classify, status_name

_S = CommandStatus


@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        (_S.ESME_ROK, SubmitOutcome.ACCEPTED),
        (_S.ESME_RTHROTTLED, SubmitOutcome.THROTTLED),
        (_S.ESME_RMSGQFUL, SubmitOutcome.THROTTLED),
        (_S.ESME_RSYSERR, SubmitOutcome.UNAVAILABLE),
        (_S.ESME_RBINDFAIL, SubmitOutcome.UNAVAILABLE),
        (_S.ESME_RINVBNDSTS, SubmitOutcome.UNAVAILABLE),
        (_S.ESME_RSUBMITFAIL, SubmitOutcome.UNAVAILABLE),
        (_S.ESME_RX_T_APPN, SubmitOutcome.UNAVAILABLE),
        (_S.ESME_RUNKNOWNERR, SubmitOutcome.UNAVAILABLE),
        (_S.ESME_RINVSRCADR, SubmitOutcome.REJECTED),
        (_S.ESME_RINVDSTADR, SubmitOutcome.REJECTED),
        (_S.ESME_RINVMSGLEN, SubmitOutcome.REJECTED),
        (_S.ESME_RINVPASWD, SubmitOutcome.REJECTED),
        (_S.ESME_RINVSYSID, SubmitOutcome.REJECTED),
        (_S.ESME_RX_P_APPN, SubmitOutcome.REJECTED),
        (0x0400, SubmitOutcome.REJECTED),
    ],
)
def test_classify_reads_each_status_for_the_session(code: int, outcome: SubmitOutcome) -> None:
    """Throttling codes slow down, SMSC failures retry later, request errors are rejections."""
    assert classify(code) is outcome


def test_status_codes_have_their_specified_values() -> None:
    """The flow-control and bind codes carry the values of SMPP 3.4 section 5.1.3."""
    assert (_S.ESME_RMSGQFUL, _S.ESME_RTHROTTLED, _S.ESME_RINVSYSID) == (0x14, 0x58, 0x0F)
    assert (_S.ESME_RINVPASWD, _S.ESME_RBINDFAIL, _S.ESME_RALYBND) == (0x0E, 0x0D, 0x05)


def test_status_name_names_defined_codes_and_spells_others_in_hex() -> None:
    """Defined codes print by name, vendor-specific ones as eight hex digits."""
    assert status_name(0x58) == "ESME_RTHROTTLED"
    assert status_name(0x0401) == "0x00000401"
