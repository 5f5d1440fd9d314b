"""The webhook event types of contract §7, in contract order; nothing else can be subscribed or published."""

from __future__ import annotations

__all__ = ["EVENT_TYPES", "ordered"]

EVENT_TYPES: tuple[str, ...] = (
    "message.submitted",
    "message.delivered",
    "message.failed",
    "message.unknown",
    "link.opened",
    "link.rejected",
    "claim.location_shared",
    "claim.location_declined",
    "queue.ticket_called",
    "queue.ticket_cancelled",
    "queue.ticket_recalled",
    "queue.ticket_no_show",
    "verify.completed",
    "verify.failed",
    "verify.prefix_blocked",
    "campaign.started",
    "campaign.progress",
    "campaign.completed",
    "campaign.cancelled",
)


def ordered(events: set[str] | frozenset[str]) -> list[str]:
    """``events`` in contract order."""
    return [event for event in EVENT_TYPES if event in events]
