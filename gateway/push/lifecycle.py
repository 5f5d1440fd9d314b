"""State changes of a message, shared by the dispatch worker and the operator callbacks.

Every change is a compare-and-set on ``status`` (and, for the worker, on its lease), so two
writers never both move one message: the loser sees ``False`` and re-reads. Each change records
its event and publishes its webhook (``message.submitted``, ``message.delivered``,
``message.failed``; contract §7) in the caller's transaction, so both commit together. Payloads
carry the message id, status, time, operator and the operator's status word or failure reason,
never the recipient or the link. ``expired`` has no webhook: the contract lists no such event.

Applying a report observes ``gateway_delivery_report_lag_seconds{operator}``: the time from the
message's ``submitted`` event to the report's arrival (gateway clock); a report that arrived before
the submission committed counts as 0.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import Histogram
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import DeliveryState
from gateway.db import as_utc
from gateway.push.models import MessageEvent, PushMessage
from gateway.push.states import MessageStatus, ReportStep, step_for_report
from gateway.webhooks import Publisher

__all__ = [
    "DELIVERY_REPORT_LAG",
    "MESSAGES",
    "REPORT",
    "add_event",
    "apply_pending_reports",
    "apply_report",
    "transition",
    "webhook_data",
]

MESSAGES: sa.Table = PushMessage.__table__  # type: ignore[attr-defined]
REPORT = "report"
DELIVERY_REPORT_LAG = Histogram(
    "gateway_delivery_report_lag_seconds",
    "Seconds from a push message's submission to the delivery report that settled it, by operator.",
    ["operator"],
    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 14400.0, 86400.0),
)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def webhook_data(message_id: str, status: MessageStatus, at: datetime, **extra: Any) -> dict[str, Any]:
    """A ``message.*`` webhook payload: the message id, its new status, when, and non-personal details."""
    details = {key: value for key, value in extra.items() if value}
    return {"messageId": message_id, "status": status.value, "at": _stamp(at), **details}


async def transition(
    session: AsyncSession,
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
    result = await session.exec(
        sa.update(MESSAGES).where(*where).values(status=to.value, updated_at=now, **values)
    )
    return bool(result.rowcount == 1)


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
    """Record one history entry."""
    session.add(
        MessageEvent(
            message_id=message_id,
            type=event,
            at=at,
            state=state,
            detail=detail[:64] if detail else None,
            dedupe_key=dedupe_key,
        )
    )


async def _observe_report_lag(
    session: AsyncSession, message_id: str, operator: str | None, arrived: datetime
) -> None:
    submitted = (
        await session.exec(
            select(MessageEvent.at)
            .where(MessageEvent.message_id == message_id, MessageEvent.type == MessageStatus.SUBMITTED.value)
            .order_by(col(MessageEvent.id).desc())
        )
    ).first()
    at = as_utc(submitted)
    lag = 0.0 if at is None else max(0.0, (arrived - at).total_seconds())
    DELIVERY_REPORT_LAG.labels(operator or "unknown").observe(lag)


async def apply_report(
    session: AsyncSession,
    *,
    message_id: str,
    tenant_id: str,
    operator: str | None,
    step: ReportStep,
    detail: str | None,
    now: datetime,
    events: Publisher,
    dedupe_key: str | None = None,
) -> bool:
    """Move a submitted message to the report's final state (event, webhook); False if not submitted."""
    reason = {"failure_reason": (detail or "UNDELIVERED")[:64]} if step.status is MessageStatus.FAILED else {}
    moved = await transition(
        session, message_id, expected=MessageStatus.SUBMITTED, to=step.status, now=now, **reason
    )
    if not moved:
        return False
    await _observe_report_lag(session, message_id, operator, now)
    add_event(session, message_id, step.event, now, detail=detail, dedupe_key=dedupe_key)
    if step.webhook is not None:
        data = webhook_data(message_id, step.status, now, operator=operator, operatorStatus=detail)
        await events.publish(tenant_id, step.webhook, data, session=session)
    return True


async def apply_pending_reports(
    session: AsyncSession, *, message_id: str, tenant_id: str, operator: str, now: datetime, events: Publisher
) -> None:
    """Right after submission: apply the first report that arrived before it committed, if any."""
    pending = (
        await session.exec(
            select(MessageEvent)
            .where(MessageEvent.message_id == message_id, MessageEvent.type == REPORT)
            .order_by(col(MessageEvent.id))
        )
    ).first()
    if pending is None or pending.state is None:
        return
    step = step_for_report(MessageStatus.SUBMITTED, DeliveryState(pending.state))
    await apply_report(
        session,
        message_id=message_id,
        tenant_id=tenant_id,
        operator=operator,
        step=step,
        detail=pending.detail,
        now=now,
        events=events,
    )
