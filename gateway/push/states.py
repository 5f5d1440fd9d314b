"""Message states and how a delivery report moves them (contract §6; security.md §5 "Receivers").

::

    queued ──submit──▶ submitted ──report──▶ delivered | failed
      │  │                   └──no report within PUSH_REPORT_TIMEOUT──▶ unknown
      │  └──retries past the TTL──▶ failed
      └──TTL reached, never attempted──▶ expired

``opened`` and ``completed`` (set by the link and flow features) come after ``delivered``. Reports
are applied once and in order: a report for a message whose submission is not committed yet is
kept (event ``report``; for a part named by the operator's id, an
:class:`~gateway.push.models.EarlyReport`) and applied when the submission commits; a report for a
message already past ``submitted`` is recorded (event ``report``) and changes nothing; a repeated report is a
no-op (checked by the caller through the event's ``dedupe_key``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from carrier_adapters import DeliveryState

__all__ = ["MessageStatus", "ReportStep", "step_for_report"]


class MessageStatus(enum.StrEnum):
    """``status`` of ``GET /push/v1/messages/{id}``."""

    QUEUED = "queued"
    SUBMITTED = "submitted"
    DELIVERED = "delivered"
    FAILED = "failed"
    OPENED = "opened"
    COMPLETED = "completed"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


_BY_REPORT = {DeliveryState.DELIVERED: MessageStatus.DELIVERED, DeliveryState.FAILED: MessageStatus.FAILED}


@dataclass(frozen=True, slots=True)
class ReportStep:
    """What one (not repeated) report does: the status afterwards, the event recorded, the webhook sent."""

    status: MessageStatus
    event: str
    webhook: str | None


def step_for_report(status: MessageStatus, state: DeliveryState) -> ReportStep:
    """The transition of a message in ``status`` on a new report of ``state``."""
    if status is MessageStatus.SUBMITTED:
        final = _BY_REPORT[state]
        return ReportStep(final, final.value, f"message.{final.value}")
    return ReportStep(status, "report", None)
