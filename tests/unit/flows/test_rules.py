"""The redemption state machine and the claim-location steps (gateway.flows.rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carrier_adapters import VerifyResult
from gateway.errors import FlowStateConflict, LinkExpired
from gateway.flows.rules import (
    COMPLETABLE_FROM,
    OPENABLE_FROM,
    ClaimStatus,
    Refusal,
    check_openable,
    claim_after_decline,
    claim_after_share,
    refusal_for,
)
from gateway.push.states import MessageStatus

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("status", list(MessageStatus))
def test_a_live_link_opens_whatever_the_delivery_state_except_expired(status: MessageStatus) -> None:
    """Before expires_at a link is openable unless its message expired unsent."""
    if status is MessageStatus.EXPIRED:
        with pytest.raises(LinkExpired):
            check_openable(NOW + timedelta(hours=1), status, NOW)
    else:
        check_openable(NOW + timedelta(seconds=1), status, NOW)


def test_the_link_expires_at_its_expiry_instant() -> None:
    """expires_at itself is already expired (the interval is half-open)."""
    with pytest.raises(LinkExpired):
        check_openable(NOW, MessageStatus.DELIVERED, NOW)
    with pytest.raises(LinkExpired):
        check_openable(NOW - timedelta(days=1), MessageStatus.OPENED, NOW)


def test_operator_answers_map_to_refusals() -> None:
    """PASS is the holder; REJECT another number; UNKNOWN is refused too (fail closed)."""
    assert refusal_for(VerifyResult.PASS) is None
    assert refusal_for(VerifyResult.REJECT) is Refusal.NUMBER_MISMATCH
    assert refusal_for(VerifyResult.UNKNOWN) is Refusal.NOT_CONFIRMED


def test_opened_and_completed_only_move_forward() -> None:
    """opened comes from submitted/delivered only; completed also from opened; never from a final
    failure or expiry, and never back from completed."""
    assert {MessageStatus.SUBMITTED, MessageStatus.DELIVERED} == OPENABLE_FROM
    assert {MessageStatus.SUBMITTED, MessageStatus.DELIVERED, MessageStatus.OPENED} == COMPLETABLE_FROM
    for final in (MessageStatus.FAILED, MessageStatus.EXPIRED, MessageStatus.COMPLETED, MessageStatus.QUEUED):
        assert final not in OPENABLE_FROM | COMPLETABLE_FROM


@pytest.mark.parametrize("start", [ClaimStatus.CONSENT_PENDING, ClaimStatus.DECLINED])
def test_share_and_decline_before_sharing(start: ClaimStatus) -> None:
    """Before sharing, the holder may decline (again) or share."""
    assert claim_after_decline(start) is ClaimStatus.DECLINED
    assert claim_after_share(start) is ClaimStatus.SHARED


def test_a_shared_location_is_final() -> None:
    """After sharing, neither another share nor a decline is possible (409)."""
    with pytest.raises(FlowStateConflict):
        claim_after_share(ClaimStatus.SHARED)
    with pytest.raises(FlowStateConflict):
        claim_after_decline(ClaimStatus.SHARED)
