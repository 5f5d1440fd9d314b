"""SMPP 3.4 ``command_status`` codes and what each means for the session.

:func:`classify` reads a submit_sm_resp or bind_transceiver_resp status: throttling
(``ESME_RTHROTTLED``, ``ESME_RMSGQFUL``) slows the session and the submit is sent again; SMSC-side
failures are retried later; everything else, vendor-specific codes (0x400-0x4FF) included, is a
rejection of the request with its code kept.
"""

from __future__ import annotations

from enum import IntEnum

from carrier_adapters.pdu.results import SubmitOutcome

__all__ = ["CommandStatus", "classify", "status_name"]


class CommandStatus(IntEnum):
    """The ``command_status`` values defined by SMPP 3.4 (section 5.1.3)."""

    ESME_ROK = 0x00
    ESME_RINVMSGLEN = 0x01
    ESME_RINVCMDLEN = 0x02
    ESME_RINVCMDID = 0x03
    ESME_RINVBNDSTS = 0x04
    ESME_RALYBND = 0x05
    ESME_RINVPRTFLG = 0x06
    ESME_RINVREGDLVFLG = 0x07
    ESME_RSYSERR = 0x08
    ESME_RINVSRCADR = 0x0A
    ESME_RINVDSTADR = 0x0B
    ESME_RINVMSGID = 0x0C
    ESME_RBINDFAIL = 0x0D
    ESME_RINVPASWD = 0x0E
    ESME_RINVSYSID = 0x0F
    ESME_RCANCELFAIL = 0x11
    ESME_RREPLACEFAIL = 0x13
    ESME_RMSGQFUL = 0x14
    ESME_RINVSERTYP = 0x15
    ESME_RINVNUMDESTS = 0x33
    ESME_RINVDLNAME = 0x34
    ESME_RINVDESTFLAG = 0x40
    ESME_RINVSUBREP = 0x42
    ESME_RINVESMCLASS = 0x43
    ESME_RCNTSUBDL = 0x44
    ESME_RSUBMITFAIL = 0x45
    ESME_RINVSRCTON = 0x48
    ESME_RINVSRCNPI = 0x49
    ESME_RINVDSTTON = 0x50
    ESME_RINVDSTNPI = 0x51
    ESME_RINVSYSTYP = 0x53
    ESME_RINVREPFLAG = 0x54
    ESME_RINVNUMMSGS = 0x55
    ESME_RTHROTTLED = 0x58
    ESME_RINVSCHED = 0x61
    ESME_RINVEXPIRY = 0x62
    ESME_RINVDFTMSGID = 0x63
    ESME_RX_T_APPN = 0x64
    ESME_RX_P_APPN = 0x65
    ESME_RX_R_APPN = 0x66
    ESME_RQUERYFAIL = 0x67
    ESME_RINVOPTPARSTREAM = 0xC0
    ESME_ROPTPARNOTALLWD = 0xC1
    ESME_RINVPARLEN = 0xC2
    ESME_RMISSINGOPTPARAM = 0xC3
    ESME_RINVOPTPARAMVAL = 0xC4
    ESME_RDELIVERYFAILURE = 0xFE
    ESME_RUNKNOWNERR = 0xFF


_THROTTLED = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})
_UNAVAILABLE = frozenset(
    {
        CommandStatus.ESME_RSYSERR,
        CommandStatus.ESME_RINVBNDSTS,
        CommandStatus.ESME_RALYBND,
        CommandStatus.ESME_RBINDFAIL,
        CommandStatus.ESME_RSUBMITFAIL,
        CommandStatus.ESME_RX_T_APPN,
        CommandStatus.ESME_RDELIVERYFAILURE,
        CommandStatus.ESME_RUNKNOWNERR,
    }
)


def classify(code: int) -> SubmitOutcome:
    """The session's reading of a response status.

    0 is accepted; ``ESME_RTHROTTLED`` and ``ESME_RMSGQFUL`` are flow control; system errors,
    bind-state errors, ``ESME_RBINDFAIL``, ``ESME_RSUBMITFAIL``, ``ESME_RX_T_APPN``,
    ``ESME_RDELIVERYFAILURE`` and ``ESME_RUNKNOWNERR`` are unavailability; any other code is a
    rejection of the request.
    """
    if code == CommandStatus.ESME_ROK:
        return SubmitOutcome.ACCEPTED
    if code in _THROTTLED:
        return SubmitOutcome.THROTTLED
    if code in _UNAVAILABLE:
        return SubmitOutcome.UNAVAILABLE
    return SubmitOutcome.REJECTED


def status_name(code: int) -> str:
    """``ESME_RTHROTTLED`` for a defined code, ``0x00000400`` style hex for any other."""
    try:
        return CommandStatus(code).name
    except ValueError:
        return f"0x{code:08X}"
