"""The redemption state machine and the claim-location steps, as pure functions.

A link is opened in two steps. ``GET /l/{code}`` only reads (preview bots and scanners fetch it):
an unknown code is a 404 page, a link past its ``expires_at`` (or whose message expired unsent)
a 410 page. ``POST …/redeem`` then asks the recipient's operator whether the opening device holds
the recipient's number:

::

    operator says    PASS ──▶ holder: flow state created once (message → opened, link.opened),
                               or resumed; a new flow session either way
                     REJECT ─▶ refused NUMBER_MISMATCH   ┐
                     UNKNOWN ▶ refused NOT_CONFIRMED     ├ 403 LINK_NOT_FOR_THIS_DEVICE + link.rejected
    another operator's token ▶ refused OPERATOR_MISMATCH ┘

A refusal never locks the link: the holder can still open it (failures are counted per device
and source, :mod:`gateway.flows.attempts`). ``opened`` is set from
``submitted`` or ``delivered`` only (a delivery report arriving later changes nothing, see
:mod:`gateway.push.states`); ``completed`` from those or ``opened``.

Claim location: ``consent_pending`` ──decline──▶ ``declined`` ──share──▶ ``shared`` (final); a
decline can be followed by a share (consent given later), a share is never undone.
"""

from __future__ import annotations

import enum
from datetime import datetime

from carrier_adapters import VerifyResult
from gateway.errors import FlowStateConflict, LinkExpired
from gateway.push.states import MessageStatus

__all__ = [
    "COMPLETABLE_FROM",
    "OPENABLE_FROM",
    "ClaimStatus",
    "Refusal",
    "check_openable",
    "claim_after_decline",
    "claim_after_share",
    "refusal_for",
]

OPENABLE_FROM = frozenset({MessageStatus.SUBMITTED, MessageStatus.DELIVERED})
COMPLETABLE_FROM = frozenset({MessageStatus.SUBMITTED, MessageStatus.DELIVERED, MessageStatus.OPENED})


class Refusal(enum.StrEnum):
    """Why a redemption was refused (the ``reason`` of ``link.rejected``).

    ``NUMBER_MISMATCH``: another phone of the recipient's operator (the operator said so);
    ``OPERATOR_MISMATCH``: a phone of another operator (its token names that operator: no check
    is made); ``NOT_CONFIRMED``: the operator could not say (fail closed).
    """

    NUMBER_MISMATCH = "NUMBER_MISMATCH"
    NOT_CONFIRMED = "NOT_CONFIRMED"
    OPERATOR_MISMATCH = "OPERATOR_MISMATCH"

    @property
    def definitive(self) -> bool:
        """Whether the refusal says the phone is another one (``NOT_CONFIRMED`` may be the holder's)."""
        return self is not Refusal.NOT_CONFIRMED


class ClaimStatus(enum.StrEnum):
    """``flow_states.status`` of a claim-location flow."""

    CONSENT_PENDING = "consent_pending"
    DECLINED = "declined"
    SHARED = "shared"


def check_openable(expires_at: datetime, message_status: MessageStatus, now: datetime) -> None:
    """Raise :class:`LinkExpired` when the link may no longer be opened."""
    if now >= expires_at or message_status is MessageStatus.EXPIRED:
        raise LinkExpired()


def refusal_for(result: VerifyResult) -> Refusal | None:
    """The refusal for the operator's answer to "does this device hold the recipient's number?"."""
    if result is VerifyResult.PASS:
        return None
    if result is VerifyResult.REJECT:
        return Refusal.NUMBER_MISMATCH
    return Refusal.NOT_CONFIRMED


def claim_after_decline(status: ClaimStatus) -> ClaimStatus:
    """The status after the holder declines; a shared location cannot be declined any more."""
    if status is ClaimStatus.SHARED:
        raise FlowStateConflict("The location has already been shared.")
    return ClaimStatus.DECLINED


def claim_after_share(status: ClaimStatus) -> ClaimStatus:
    """The status after the holder shares; sharing happens once."""
    if status is ClaimStatus.SHARED:
        raise FlowStateConflict("The location has already been shared.")
    return ClaimStatus.SHARED
