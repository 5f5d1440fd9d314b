"""Delivery reports that name a message part by the operator's id, applied in batches.

Binary-protocol operators report each part of a message by their id for it (CMPP ``Msg_Id``,
SGIP submit sequence, SMGP ``MsgID``, SMPP ``message_id``), minutes or days after submission,
on any session. :func:`apply_part_reports` applies a batch of them in the caller's unit of work:

- a report for a part without a final state records it on the part (a repeat, or a report for a
  part already final, changes nothing);
- a message whose parts are then all final is settled once: ``delivered`` when every part was
  delivered, else ``failed`` with the first failed part's status word as its reason; the move is
  a compare-and-set from ``submitted`` (a message already past it keeps its state), with its
  event and webhook;
- a report naming no stored part (it overtook its submission's commit) is kept as an
  :class:`~gateway.push.models.EarlyReport`; :func:`take_early_reports` hands those to the unit
  that stores the submission;
- an intermediate report (no final state) changes nothing.

:func:`reconcile_early_reports` applies early reports whose submission was stored meanwhile by a
unit that ran concurrently with theirs (neither saw the other's rows; the dispatch worker runs it
every second), and drops early reports older than the report timeout. :func:`end_unreported` ends
what never gets a report: a message still ``submitted`` a report timeout after its submission
becomes ``unknown`` (event, ``message.unknown``), so every message reaches a final state even when
the operator gave up resending its report.

The work is a fixed number of statements per batch, whatever its size. :class:`ReportSink` is
what the SMS sessions call: it gathers reports arriving together into one unit
(:class:`~gateway.db.GroupCommit`, two units at a time: a session's report window waits on the
commit, so one unit's statements overlap the other's commit) and returns once they are committed,
so the session answers the operator only then; replies (MO) go to the opt-out handling one by one.
Units lock the messages they may settle in id order before reading their parts, so concurrent
units (here or in another process) settle a message exactly once.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from carrier_adapters import DeliveryState, MobileOriginated
from carrier_adapters.smsc import Inbound, PartReport
from gateway.clock import Clock
from gateway.db import GroupCommit, as_utc
from gateway.db.batches import cases, padded_size, slot_params, slots
from gateway.push.lifecycle import DELIVERY_REPORT_LAG, EVENTS, MESSAGES, event_row, webhook_data
from gateway.push.models import EarlyReport, MessagePart
from gateway.push.states import MessageStatus
from gateway.webhooks import Publisher, Staged

__all__ = ["EARLY", "PARTS", "ReportSink", "apply_part_reports", "take_early_reports"]

log = structlog.get_logger(__name__)

PARTS: sa.Table = MessagePart.__table__  # type: ignore[attr-defined]
EARLY: sa.Table = EarlyReport.__table__  # type: ignore[attr-defined]
_DETAIL = 64


@functools.lru_cache(maxsize=32)
def _parts_named(size: int) -> sa.Select[Any]:
    """The parts whose provider id is one of ``size`` slots (the caller keeps its operators')."""
    return (
        sa.select(PARTS.c.message_id, PARTS.c.seq, PARTS.c.operator, PARTS.c.provider_id, PARTS.c.state)
        .where(PARTS.c.provider_id.in_(slots(PARTS.c.provider_id, size)))
        .order_by(PARTS.c.message_id, PARTS.c.seq)
    )


@functools.lru_cache(maxsize=32)
def _parts_of(size: int) -> sa.Select[Any]:
    """Every part of ``size`` slots of messages, in order."""
    return (
        sa.select(PARTS.c.message_id, PARTS.c.state, PARTS.c.detail)
        .where(PARTS.c.message_id.in_(slots(PARTS.c.message_id, size)))
        .order_by(PARTS.c.message_id, PARTS.c.seq)
    )


def _early_match(size: int) -> sa.ColumnElement[bool]:
    return (EARLY.c.operator == sa.bindparam("operator")) & EARLY.c.provider_id.in_(
        slots(EARLY.c.provider_id, size)
    )


@functools.lru_cache(maxsize=32)
def _early_named(size: int) -> sa.Select[Any]:
    return (
        sa.select(EARLY.c.provider_id, EARLY.c.state, EARLY.c.detail, EARLY.c.reported_at)
        .where(_early_match(size))
        .order_by(EARLY.c.id)
    )


@functools.lru_cache(maxsize=32)
def _early_taken(size: int) -> sa.Delete:
    return sa.delete(EARLY).where(_early_match(size))


@functools.lru_cache(maxsize=32)
def _submitted_locked(size: int) -> sa.Select[Any]:
    """Lock each of ``size`` slots of messages still ``submitted`` (in id order); when it became so.

    Taken before the parts are read: a unit applying another part of the same message (another
    session, another process) commits first or waits, so one of the two sees every part final.
    """
    return (
        sa.select(MESSAGES.c.id, MESSAGES.c.updated_at)
        .where(
            MESSAGES.c.id.in_(slots(MESSAGES.c.id, size)), MESSAGES.c.status == MessageStatus.SUBMITTED.value
        )
        .order_by(MESSAGES.c.id)
        .with_for_update()
    )


@functools.lru_cache(maxsize=32)
def _settled(size: int) -> sa.Update:
    """Move ``size`` slots of submitted messages to their final status (and failure reason)."""
    return (
        sa.update(MESSAGES)
        .where(
            MESSAGES.c.id.in_(slots(MESSAGES.c.id, size)),
            MESSAGES.c.status == MessageStatus.SUBMITTED.value,
        )
        .values(
            status=cases(MESSAGES.c.id, MESSAGES.c.status, size, "status"),
            failure_reason=cases(MESSAGES.c.id, MESSAGES.c.failure_reason, size, "reason"),
            updated_at=sa.bindparam("now", type_=MESSAGES.c.updated_at.type),
        )
        .returning(MESSAGES.c.id, MESSAGES.c.tenant_id, MESSAGES.c.operator)
    )


@dataclass(frozen=True, slots=True)
class _Settled:
    message_id: str
    tenant_id: str
    operator: str
    status: MessageStatus
    detail: str
    submitted_at: datetime


def apply_part_reports(
    conn: Connection, reports: Sequence[PartReport], *, now: datetime, events: Publisher
) -> bool:
    """Apply ``reports`` in ``conn``'s unit (see the module docstring); whether a webhook was staged."""
    final = [(report, report.state) for report in reports if report.state is not None]
    if not final:
        return False
    keys = {(report.operator, report.provider_id) for report, _ in final}
    ids = sorted({provider_id for _, provider_id in keys})
    size = padded_size(len(ids))
    open_parts: dict[tuple[str, str], list[tuple[str, int]]] = {}
    known: set[tuple[str, str]] = set()
    for row in conn.execute(_parts_named(size), slot_params(size, ids)):
        key = (row.operator, row.provider_id)
        if key not in keys:
            continue
        known.add(key)
        if row.state is None:
            open_parts.setdefault(key, []).append((row.message_id, row.seq))
    updates: list[dict[str, Any]] = []
    early: list[dict[str, Any]] = []
    for report, state in final:
        key = (report.operator, report.provider_id)
        if key not in known:
            early.append(_early_row(report, state, now))
        elif open_parts.get(key):
            message_id, seq = open_parts[key].pop(0)
            updates.append(_part_update(message_id, seq, report, state))
    if early:
        conn.execute(sa.insert(EARLY), early)
    if not updates:
        return False
    updates.sort(key=lambda update: (update["m_id"], update["m_seq"]))
    conn.execute(
        sa.update(PARTS)
        .where(
            PARTS.c.message_id == sa.bindparam("m_id"),
            PARTS.c.seq == sa.bindparam("m_seq"),
            PARTS.c.state.is_(None),
        )
        .values(
            state=sa.bindparam("m_state"), detail=sa.bindparam("m_detail"), reported_at=sa.bindparam("m_at")
        ),
        updates,
    )
    return _settle(conn, {update["m_id"] for update in updates}, now=now, events=events)


def take_early_reports(conn: Connection, operator: str, provider_ids: Sequence[str]) -> list[PartReport]:
    """Remove and return the early reports naming ``provider_ids`` of ``operator`` (oldest first)."""
    if not provider_ids:
        return []
    ids = sorted(set(provider_ids))
    size = padded_size(len(ids))
    params = slot_params(size, ids) | {"operator": operator}
    rows = conn.execute(_early_named(size), params).all()
    if not rows:
        return []
    conn.execute(_early_taken(size), params)
    return [_early_report(operator, row) for row in rows]


def _early_report(operator: str, row: Any) -> PartReport:
    """An early report read back (``row`` has provider_id, state, detail, reported_at)."""
    reported_at = as_utc(row.reported_at) or row.reported_at
    return PartReport(operator, row.provider_id, DeliveryState(row.state), row.detail or "", reported_at)


def _early_row(report: PartReport, state: DeliveryState, now: datetime) -> dict[str, Any]:
    return {
        "operator": report.operator,
        "provider_id": report.provider_id[:64],
        "state": state.value,
        "detail": report.status[:_DETAIL] or None,
        "reported_at": report.at,
        "received_at": now,
    }


def _part_update(message_id: str, seq: int, report: PartReport, state: DeliveryState) -> dict[str, Any]:
    return {
        "m_id": message_id,
        "m_seq": seq,
        "m_state": state.value,
        "m_detail": report.status[:_DETAIL] or None,
        "m_at": report.at,
    }


def _settle(conn: Connection, message_ids: set[str], *, now: datetime, events: Publisher) -> bool:
    """Settle the messages among ``message_ids`` whose parts are all final; whether a webhook was staged."""
    ids = sorted(message_ids)
    size = padded_size(len(ids))
    before = {row.id: row.updated_at for row in conn.execute(_submitted_locked(size), slot_params(size, ids))}
    if not before:
        return False
    ids = sorted(before)
    size = padded_size(len(ids))
    parts: dict[str, list[tuple[str | None, str | None]]] = {}
    for row in conn.execute(_parts_of(size), slot_params(size, ids)):
        parts.setdefault(row.message_id, []).append((row.state, row.detail))
    outcome: dict[str, tuple[MessageStatus, str]] = {}
    for message_id, states in parts.items():
        if any(state is None for state, _ in states):
            continue
        failed = [detail for state, detail in states if state == DeliveryState.FAILED.value]
        if failed:
            outcome[message_id] = (MessageStatus.FAILED, failed[0] or "UNDELIVERED")
        else:
            outcome[message_id] = (MessageStatus.DELIVERED, states[0][1] or "DELIVRD")
    if not outcome:
        return False
    settling = sorted(outcome)
    size = padded_size(len(settling))
    values: dict[str, list[str | None]] = {
        "status": [outcome[m][0].value for m in settling],
        "reason": [outcome[m][1] if outcome[m][0] is MessageStatus.FAILED else None for m in settling],
    }
    moved = conn.execute(_settled(size), slot_params(size, settling, values) | {"now": now}).all()
    settled = [
        _Settled(
            row.id,
            row.tenant_id,
            row.operator,
            outcome[row.id][0],
            outcome[row.id][1],
            as_utc(before[row.id]) or now,
        )
        for row in moved
    ]
    if not settled:
        return False
    conn.execute(
        sa.insert(EVENTS),
        [event_row(s.message_id, s.status.value, now, detail=s.detail) for s in settled],
    )
    for s in settled:
        DELIVERY_REPORT_LAG.labels(s.operator or "unknown").observe(
            max(0.0, (now - s.submitted_at).total_seconds())
        )
    staged = events.stage_many(
        conn,
        [
            Staged(
                s.tenant_id,
                f"message.{s.status.value}",
                webhook_data(s.message_id, s.status, now, operator=s.operator, operatorStatus=s.detail),
            )
            for s in settled
        ],
    )
    return any(staged)


def reconcile_early_reports(
    conn: Connection, *, now: datetime, timeout: timedelta, events: Publisher, limit: int = 500
) -> int:
    """Apply up to ``limit`` early reports whose part is stored now; drop stale ones; how many applied."""
    matched = conn.execute(
        sa.select(
            EARLY.c.id,
            EARLY.c.operator,
            EARLY.c.provider_id,
            EARLY.c.state,
            EARLY.c.detail,
            EARLY.c.reported_at,
        )
        .where(
            sa.exists().where(
                PARTS.c.provider_id == EARLY.c.provider_id, PARTS.c.operator == EARLY.c.operator
            )
        )
        .order_by(EARLY.c.id)
        .limit(limit)
    ).all()
    if matched:
        conn.execute(sa.delete(EARLY).where(EARLY.c.id.in_([row.id for row in matched])))
        reports = [_early_report(row.operator, row) for row in matched]
        apply_part_reports(conn, reports, now=now, events=events)
    conn.execute(sa.delete(EARLY).where(EARLY.c.received_at < now - timeout))
    return len(matched)


def end_unreported(
    conn: Connection, *, now: datetime, timeout: timedelta, events: Publisher, limit: int = 500
) -> int:
    """Move up to ``limit`` messages submitted before ``now - timeout`` to ``unknown``; how many."""
    stale = (
        sa.select(MESSAGES.c.id)
        .where(MESSAGES.c.status == MessageStatus.SUBMITTED.value, MESSAGES.c.updated_at < now - timeout)
        .limit(limit)
        .scalar_subquery()
    )
    moved = conn.execute(
        sa.update(MESSAGES)
        .where(MESSAGES.c.id.in_(stale), MESSAGES.c.status == MessageStatus.SUBMITTED.value)
        .values(status=MessageStatus.UNKNOWN.value, failure_reason="NO_REPORT", updated_at=now)
        .returning(MESSAGES.c.id, MESSAGES.c.tenant_id, MESSAGES.c.operator)
    ).all()
    if not moved:
        return 0
    conn.execute(
        sa.insert(EVENTS),
        [event_row(row.id, MessageStatus.UNKNOWN.value, now, detail="NO_REPORT") for row in moved],
    )
    events.stage_many(
        conn,
        [
            Staged(
                row.tenant_id,
                "message.unknown",
                webhook_data(row.id, MessageStatus.UNKNOWN, now, operator=row.operator, reason="NO_REPORT"),
            )
            for row in moved
        ],
    )
    return len(moved)


class ReportSink:
    """The SMS sessions' ``on_inbound``: reports in group-committed batches, replies one by one."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Clock,
        events: Publisher,
        replies: Callable[[MobileOriginated], Awaitable[str]],
        max_batch: int = 1000,
    ) -> None:
        self._clock = clock
        self._events = events
        self._replies = replies
        self._batches: GroupCommit[PartReport, bool] = GroupCommit(
            engine, self._apply, after=self._committed, max_items=max_batch, units=2
        )

    async def __call__(self, items: list[Inbound]) -> None:
        """Store ``items``; returns once they are durable (see the module docstring)."""
        reports = [item for item in items if isinstance(item, PartReport)]
        for item in items:
            if isinstance(item, MobileOriginated):
                outcome = await self._replies(item)
                log.info("push_reply", operator=item.operator, outcome=outcome)
        if reports:
            await self._batches.add(reports)

    def _apply(self, conn: Connection, reports: list[PartReport]) -> bool:
        return apply_part_reports(conn, reports, now=self._clock.now(), events=self._events)

    def _committed(self, published: bool) -> None:
        if published:
            self._events.on_publish()
