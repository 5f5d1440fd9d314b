"""State changes of a message, shared by the dispatch worker and the operator callbacks.

Every change is a compare-and-set on ``status`` (and, for the worker, on its lease), so two
writers never both move one message: the loser sees ``False`` and re-reads. Each change records
its event and stages its webhook (``message.submitted``, ``message.delivered``,
``message.failed``; contract §7) in the caller's unit of work (:func:`gateway.db.run_unit`, a
synchronous ``Connection``), so all commit together; the caller wakes the webhook worker after
the commit. :func:`add_event` is the session form, for request handlers that hold an ORM session.
Payloads carry the message id, status, time, operator and the operator's status word or failure
reason, never the recipient or the link. ``expired`` has no webhook: the contract lists no such event.

Applying a report observes ``gateway_delivery_report_lag_seconds{operator}``: the time from the
message's submission (its ``updated_at``, which only a status change moves while it is
``submitted``) to the report's arrival (gateway clock); a report that arrived before the
submission committed counts as 0.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from prometheus_client import Histogram
from sqlalchemy.engine import Connection
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.push.models import MessageEvent, PushMessage
from gateway.push.states import MessageStatus, ReportStep
from gateway.webhooks import Publisher

__all__ = [
    "DELIVERY_REPORT_LAG",
    "EVENTS",
    "MESSAGES",
    "REPORT",
    "Applied",
    "add_event",
    "apply_report",
    "event_row",
    "record_event",
    "transition",
    "webhook_data",
]

MESSAGES: sa.Table = PushMessage.__table__  # type: ignore[attr-defined]
EVENTS: sa.Table = MessageEvent.__table__  # type: ignore[attr-defined]
REPORT = "report"
DELIVERY_REPORT_LAG = Histogram(
    "gateway_delivery_report_lag_seconds",
    "Seconds from a push message's submission to the delivery report that settled it, by operator.",
    ["operator"],
    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0, 86400.0),
)


class Applied(NamedTuple):
    """What a state change did: moved the message, and staged a webhook (the caller wakes the
    webhook worker, ``Publisher.on_publish``, once the unit has committed)."""

    moved: bool
    published: bool


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def webhook_data(message_id: str, status: MessageStatus, at: datetime, **extra: Any) -> dict[str, Any]:
    """A ``message.*`` webhook payload: the message id, its new status, when, and non-personal details."""
    details = {key: value for key, value in extra.items() if value}
    return {"messageId": message_id, "status": status.value, "at": _stamp(at), **details}


def transition(
    conn: Connection,
    message_id: str,
    *,
    expected: MessageStatus,
    to: MessageStatus,
    now: datetime,
    lease_owner: str | None = None,
    **values: Any,
) -> bool:
    """Move the message from ``expected`` to ``to``; False if it was not there (or not ``lease_owner``'s).

    With ``lease_owner`` the change also requires and releases that worker's lease.
    """
    where = [MESSAGES.c.id == message_id, MESSAGES.c.status == expected.value]
    if lease_owner is not None:
        where.append(MESSAGES.c.lease_owner == lease_owner)
        values |= {"lease_owner": None, "lease_until": None}
    result = conn.execute(sa.update(MESSAGES).where(*where).values(status=to.value, updated_at=now, **values))
    return result.rowcount == 1


def event_row(
    message_id: str,
    event: str,
    at: datetime,
    *,
    state: str | None = None,
    detail: str | None = None,
    dedupe_key: str | None = None,
) -> dict[str, Any]:
    """One history entry as a row of :data:`EVENTS` (for inserts of many at once)."""
    return {
        "message_id": message_id,
        "type": event,
        "at": at,
        "state": state,
        "detail": detail[:64] if detail else None,
        "dedupe_key": dedupe_key,
    }


def add_event(
    session: AsyncSession,
    message_id: str,
    event: str,
    at: datetime,
    *,
    state: str | None = None,
    detail: str | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Record one history entry in ``session`` (written at its flush)."""
    session.add(
        MessageEvent(**event_row(message_id, event, at, state=state, detail=detail, dedupe_key=dedupe_key))
    )


def record_event(
    conn: Connection,
    message_id: str,
    event: str,
    at: datetime,
    *,
    state: str | None = None,
    detail: str | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Record one history entry on a unit of work's ``conn`` (written at once).

    :raises IntegrityError: ``dedupe_key`` is already recorded for the message.
    """
    conn.execute(
        sa.insert(EVENTS).values(
            event_row(message_id, event, at, state=state, detail=detail, dedupe_key=dedupe_key)
        )
    )


def _observe_report_lag(operator: str | None, submitted_at: datetime, arrived: datetime) -> None:
    lag = max(0.0, (arrived - submitted_at).total_seconds())
    DELIVERY_REPORT_LAG.labels(operator or "unknown").observe(lag)


def apply_report(
    conn: Connection,
    *,
    message_id: str,
    tenant_id: str,
    operator: str | None,
    step: ReportStep,
    detail: str | None,
    submitted_at: datetime,
    now: datetime,
    events: Publisher,
    dedupe_key: str | None = None,
) -> Applied:
    """Move a submitted message to the report's final state (event, webhook) in ``conn``'s unit.

    ``submitted_at`` is when the message became ``submitted`` (its ``updated_at`` while it is).
    """
    reason = {"failure_reason": (detail or "UNDELIVERED")[:64]} if step.status is MessageStatus.FAILED else {}
    if not transition(conn, message_id, expected=MessageStatus.SUBMITTED, to=step.status, now=now, **reason):
        return Applied(False, False)
    _observe_report_lag(operator, submitted_at, now)
    record_event(conn, message_id, step.event, now, detail=detail, dedupe_key=dedupe_key)
    if step.webhook is None:
        return Applied(True, False)
    data = webhook_data(message_id, step.status, now, operator=operator, operatorStatus=detail)
    staged = events.stage(conn, tenant_id=tenant_id, event_type=step.webhook, data=data)
    return Applied(True, staged is not None)
