"""What the dispatch worker decided for each message it held, written in batches.

A :class:`Settlement` is one message's outcome of a dispatch attempt: ``SUBMITTED`` (with the
operator's answer), ``RETRY`` (the next attempt's time), ``FAILED`` (the reason), ``EXPIRED``
(never tried within its TTL) or ``RELEASE`` (handed back untried). :func:`record` writes any mix
of them in the caller's unit of work with a fixed number of statements per kind, whatever the
batch size: each move is one compare-and-set ``UPDATE … RETURNING`` over the batch, conditional
on the message still being ``queued`` and leased to the worker, so a worker whose lease ended
writes nothing for that message; then one insert of the moved messages' events, one of their
parts, one staging of their webhooks. Reports that overtook a submission are applied in the same
unit (:func:`~gateway.push.reports.take_early_reports` for parts, the ``report`` events kept for
the HTTP dialects).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from carrier_adapters import DeliveryState, SmsSubmission
from gateway.db.batches import cases, padded_size, slot_params, slots
from gateway.push.lifecycle import EVENTS, MESSAGES, REPORT, apply_report, event_row, webhook_data
from gateway.push.reports import PARTS, apply_part_reports, take_early_reports
from gateway.push.states import MessageStatus, step_for_report
from gateway.webhooks import Publisher, Staged

__all__ = ["Claim", "Outcome", "Recorded", "Settlement", "record"]

_DETAIL = 64


@dataclass(frozen=True, slots=True)
class Claim:
    """A message a worker holds until ``lease_until``."""

    id: str
    tenant_id: str
    operator: str | None
    attempts: int
    failure_reason: str | None
    recipient_cipher: str
    text_cipher: str
    expires_at: datetime
    lease_until: datetime


class Outcome(enum.Enum):
    """What happened to a claimed message (see the module docstring)."""

    SUBMITTED = "submitted"
    RETRY = "retry"
    FAILED = "failed"
    EXPIRED = "expired"
    RELEASE = "release"


@dataclass(frozen=True, slots=True)
class Settlement:
    """One claimed message's outcome; ``attempts`` is the new count when the attempt counts."""

    claim: Claim
    outcome: Outcome
    at: datetime
    operator: str | None = None
    submission: SmsSubmission | None = None
    reason: str | None = None
    attempts: int | None = None
    retry_at: datetime | None = None


class Recorded(NamedTuple):
    """What a batch did: the ids of the messages it moved, and whether it staged a webhook."""

    moved: frozenset[str]
    published: bool


def record(
    conn: Connection, settlements: Sequence[Settlement], *, worker: str, now: datetime, events: Publisher
) -> Recorded:
    """Write ``settlements`` of ``worker`` in ``conn``'s unit (see the module docstring)."""
    by_outcome: dict[Outcome, list[Settlement]] = {}
    for settlement in settlements:
        by_outcome.setdefault(settlement.outcome, []).append(settlement)
    moved: set[str] = set()
    published = False
    for outcome, group in by_outcome.items():
        ids, staged = _RECORDERS[outcome](conn, group, worker, now, events)
        moved |= ids
        published = published or staged
    return Recorded(frozenset(moved), published)


_STATUS_AFTER = {
    Outcome.SUBMITTED: MessageStatus.SUBMITTED,
    Outcome.FAILED: MessageStatus.FAILED,
    Outcome.EXPIRED: MessageStatus.EXPIRED,
}


@functools.lru_cache(maxsize=64)
def _move_statement(outcome: Outcome, size: int) -> sa.Update:
    """The compare-and-set of a batch of ``size`` slots for ``outcome`` (one text per size)."""
    messages = MESSAGES.c
    where = [messages.id.in_(slots(messages.id, size)), messages.lease_owner == sa.bindparam("worker")]
    values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
    if outcome is Outcome.RELEASE:
        values["next_attempt_at"] = sa.func.coalesce(
            cases(messages.id, messages.next_attempt_at, size, "retry"), messages.next_attempt_at
        )
    else:
        where.append(messages.status == MessageStatus.QUEUED.value)
        values["updated_at"] = sa.bindparam("now", type_=messages.updated_at.type)
    if outcome in _STATUS_AFTER:
        values["status"] = _STATUS_AFTER[outcome].value
    if outcome is Outcome.SUBMITTED:
        values |= {
            "operator": cases(messages.id, messages.operator, size, "operator"),
            "provider_message_id": cases(messages.id, messages.provider_message_id, size, "provider"),
            "attempts": messages.attempts + 1,
            "failure_reason": None,
        }
    elif outcome in (Outcome.FAILED, Outcome.RETRY):
        values |= {
            "failure_reason": cases(messages.id, messages.failure_reason, size, "reason"),
            "attempts": sa.func.coalesce(
                cases(messages.id, messages.attempts, size, "attempts"), messages.attempts
            ),
        }
    if outcome is Outcome.RETRY:
        values["next_attempt_at"] = cases(messages.id, messages.next_attempt_at, size, "retry")
    return sa.update(MESSAGES).where(*where).values(values).returning(messages.id)


def _move(
    conn: Connection,
    group: Sequence[Settlement],
    worker: str,
    now: datetime,
    values: dict[str, list[Any]] | None = None,
) -> dict[str, Settlement]:
    """The compare-and-set of the whole group (all of one outcome); the settlements whose message
    moved, by id. ``values`` are per-row values aligned with ``group``, by slot name."""
    by_id = {s.claim.id: s for s in group}
    size = padded_size(len(group))
    params = slot_params(size, [s.claim.id for s in group], values) | {"worker": worker, "now": now}
    rows = conn.execute(_move_statement(group[0].outcome, size), params).all()
    return {row.id: by_id[row.id] for row in rows}


def _events(conn: Connection, moved: dict[str, Settlement], event: str, detail: str | None = None) -> None:
    """One history entry per moved message; ``detail`` names the settlement field to record."""
    if moved:
        conn.execute(
            sa.insert(EVENTS),
            [
                event_row(message_id, event, s.at, detail=getattr(s, detail) if detail else None)
                for message_id, s in moved.items()
            ],
        )


def _submitted(
    conn: Connection, group: Sequence[Settlement], worker: str, now: datetime, events: Publisher
) -> tuple[set[str], bool]:
    values = {
        "operator": [s.operator for s in group],
        "provider": [s.submission.provider_message_id[:128] if s.submission else None for s in group],
    }
    moved = _move(conn, group, worker, now, values)
    if not moved:
        return set(), False
    _events(conn, moved, MessageStatus.SUBMITTED.value, "operator")
    staged = events.stage_many(
        conn,
        [
            Staged(
                s.claim.tenant_id,
                "message.submitted",
                webhook_data(message_id, MessageStatus.SUBMITTED, s.at, operator=s.operator),
            )
            for message_id, s in moved.items()
        ],
    )
    published = any(staged)
    parts: dict[str, list[str]] = {}
    rows = []
    for message_id, s in moved.items():
        if s.submission is None or s.operator is None:
            continue
        for seq, part in enumerate(s.submission.parts, start=1):
            rows.append(
                {"message_id": message_id, "seq": seq, "operator": s.operator, "provider_id": part[:64]}
            )
            parts.setdefault(s.operator, []).append(part[:64])
    if rows:
        conn.execute(sa.insert(PARTS), rows)
        early = [
            report for operator, ids in parts.items() for report in take_early_reports(conn, operator, ids)
        ]
        if early:
            published = apply_part_reports(conn, early, now=now, events=events) or published
    whole = [
        message_id for message_id, s in moved.items() if s.submission is not None and not s.submission.parts
    ]
    return set(moved), _pending_reports(conn, whole, moved, now, events) or published


def _pending_reports(
    conn: Connection, message_ids: list[str], moved: dict[str, Settlement], now: datetime, events: Publisher
) -> bool:
    """Apply the first report each message received (by HTTP callback) before its submission committed."""
    if not message_ids:
        return False
    first: dict[str, tuple[str, str | None]] = {}
    for row in conn.execute(
        sa.select(EVENTS.c.message_id, EVENTS.c.state, EVENTS.c.detail)
        .where(EVENTS.c.message_id.in_(message_ids), EVENTS.c.type == REPORT, EVENTS.c.state.is_not(None))
        .order_by(EVENTS.c.id)
    ):
        first.setdefault(row.message_id, (row.state, row.detail))
    published = False
    for message_id, (state, detail) in first.items():
        s = moved[message_id]
        applied = apply_report(
            conn,
            message_id=message_id,
            tenant_id=s.claim.tenant_id,
            operator=s.operator,
            step=step_for_report(MessageStatus.SUBMITTED, DeliveryState(state)),
            detail=detail,
            submitted_at=now,
            now=now,
            events=events,
        )
        published = published or applied.published
    return published


def _failed(
    conn: Connection, group: Sequence[Settlement], worker: str, now: datetime, events: Publisher
) -> tuple[set[str], bool]:
    reasons = {s.claim.id: (s.reason or "OPERATOR_ERROR")[:_DETAIL] for s in group}
    values: dict[str, list[Any]] = {
        "reason": [reasons[s.claim.id] for s in group],
        "attempts": [s.attempts for s in group],
    }
    moved = _move(conn, group, worker, now, values)
    if not moved:
        return set(), False
    _events(conn, moved, MessageStatus.FAILED.value, "reason")
    staged = events.stage_many(
        conn,
        [
            Staged(
                s.claim.tenant_id,
                "message.failed",
                webhook_data(message_id, MessageStatus.FAILED, s.at, reason=reasons[message_id]),
            )
            for message_id, s in moved.items()
        ],
    )
    return set(moved), any(staged)


def _retry(
    conn: Connection, group: Sequence[Settlement], worker: str, now: datetime, events: Publisher
) -> tuple[set[str], bool]:
    values: dict[str, list[Any]] = {
        "reason": [s.reason for s in group],
        "attempts": [s.attempts for s in group],
        "retry": [s.retry_at for s in group],
    }
    moved = _move(conn, group, worker, now, values)
    _events(conn, moved, "submit_failed", "reason")
    return set(moved), False


def _expired(
    conn: Connection, group: Sequence[Settlement], worker: str, now: datetime, events: Publisher
) -> tuple[set[str], bool]:
    moved = _move(conn, group, worker, now)
    _events(conn, moved, MessageStatus.EXPIRED.value)
    return set(moved), False


def _release(
    conn: Connection, group: Sequence[Settlement], worker: str, now: datetime, events: Publisher
) -> tuple[set[str], bool]:
    return set(_move(conn, group, worker, now, {"retry": [s.retry_at for s in group]})), False


_RECORDERS = {
    Outcome.SUBMITTED: _submitted,
    Outcome.RETRY: _retry,
    Outcome.FAILED: _failed,
    Outcome.EXPIRED: _expired,
    Outcome.RELEASE: _release,
}
