"""Keeping the daily rollups (:mod:`gateway.dashboard.models`) up to date.

A (tenant, day) is computed from the raw tables as a whole, in one transaction that first claims it
in ``dashboard_refreshes`` (a compare-and-set on ``computed_at``, so of several processes
refreshing at once one computes each day and the others skip it), deletes the day's rollup rows
and inserts them again from one ``INSERT … SELECT … GROUP BY`` per table over the day's messages
(the index on ``push_messages (tenant_id, created_at)``, then the history, flow states and
tickets by message id).

A message's figures can change until its link, report and flow can no longer move: its lifetime
(at most 7 days, after up to a night held by quiet hours), then up to 72 h for a report. So a day
is **final** once computed at least :data:`HORIZON` after its end, and never computed again. Until
then it is due again when its last computation is older than :data:`TODAY_AGE` (today),
:data:`YESTERDAY_AGE` (yesterday) or :data:`WARM_AGE` (older days). :meth:`Rollups.refresh` computes
the due days of every tenant that has messages, at most ``budget`` per call, from the day after its
last final one (or of its first message): the days that can still change newest first, then the
settled ones oldest first (a first run backfills the history over several calls).
:class:`Refresher` calls it every ``interval`` seconds in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial
from typing import Any, NamedTuple

import sqlalchemy as sa
import structlog
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.dashboard.models import (
    FailureDay,
    LatencyDay,
    MessageDay,
    QueueDay,
    Refresh,
    UsageDay,
    VerifyDay,
    WebhookDay,
)
from gateway.dashboard.period import SHANGHAI, shanghai_today
from gateway.dashboard.queries import (
    BRANCHES,
    DELIVERED_STATES,
    DELIVERIES,
    ERROR_EVENTS,
    EVENTS,
    FAILED_STATES,
    MESSAGES,
    STATES,
    TICKETS,
    USAGE,
    VERIFY,
)
from gateway.dashboard.sql import elapsed_ms
from gateway.db import as_utc, run_unit
from gateway.push.states import MessageStatus
from gateway.tenants.models import Tenant

__all__ = [
    "FAILURES",
    "FINAL_KIND",
    "HORIZON",
    "LATENCIES",
    "MESSAGE_DAYS",
    "REFRESHES",
    "TODAY_AGE",
    "WARM_AGE",
    "YESTERDAY_AGE",
    "Computed",
    "Refresher",
    "Rollups",
    "bucket_sql",
    "is_due",
]

log = structlog.get_logger(__name__)

MESSAGE_DAYS: sa.Table = MessageDay.__table__  # type: ignore[attr-defined]
LATENCIES: sa.Table = LatencyDay.__table__  # type: ignore[attr-defined]
FAILURES: sa.Table = FailureDay.__table__  # type: ignore[attr-defined]
REFRESHES: sa.Table = Refresh.__table__  # type: ignore[attr-defined]
USAGE_DAYS: sa.Table = UsageDay.__table__  # type: ignore[attr-defined]
VERIFY_DAYS: sa.Table = VerifyDay.__table__  # type: ignore[attr-defined]
QUEUE_DAYS: sa.Table = QueueDay.__table__  # type: ignore[attr-defined]
WEBHOOK_DAYS: sa.Table = WebhookDay.__table__  # type: ignore[attr-defined]
ROLLUPS = (MESSAGE_DAYS, LATENCIES, FAILURES, USAGE_DAYS, VERIFY_DAYS, QUEUE_DAYS, WEBHOOK_DAYS)
TENANTS: sa.Table = Tenant.__table__  # type: ignore[attr-defined]

HORIZON = timedelta(days=12)
TODAY_AGE = timedelta(minutes=2)
YESTERDAY_AGE = timedelta(minutes=10)
WARM_AGE = timedelta(hours=1)
FINAL_KIND = "final"

_TENANT = sa.bindparam("tenant_id", type_=sa.String)
_DAY = sa.bindparam("day", type_=sa.String)
_START: sa.BindParameter[datetime] = sa.bindparam("start")
_END: sa.BindParameter[datetime] = sa.bindparam("end")


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    """The day's first instant and the next day's, as UTC (SQLite compares stored UTC text)."""
    start = datetime.combine(day, time(), SHANGHAI).astimezone(UTC)
    return start, datetime.combine(day + timedelta(days=1), time(), SHANGHAI).astimezone(UTC)


def closes(day: date, open_until: datetime | None = None) -> datetime:
    """When ``day``'s rows can no longer change: :data:`HORIZON` after its end, or ``open_until``
    (a dead-letter retry) when later."""
    _, end = _day_bounds(day)
    return max(end + HORIZON, open_until) if open_until is not None else end + HORIZON


def is_due(
    day: date, computed_at: datetime | None, final: bool, now: datetime, open_until: datetime | None = None
) -> bool:
    """Whether ``day``'s rollups, computed at ``computed_at`` (None: never), need computing at ``now``."""
    if final:
        return False
    if computed_at is None:
        return True
    if now >= closes(day, open_until):
        return True
    age = now - computed_at
    today = shanghai_today(now)
    if day >= today:
        return age >= TODAY_AGE
    if day == today - timedelta(days=1):
        return age >= YESTERDAY_AGE
    return age >= WARM_AGE


def bucket_sql(ms: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """:func:`~gateway.dashboard.models.latency_bucket` of an integer expression, in SQL."""
    whens: list[tuple[sa.ColumnElement[bool], sa.ColumnElement[Any]]] = [(ms < 0, sa.literal_column("0"))]
    whens.append((ms < 100, ms))
    for digits in range(3, 12):
        step: sa.ColumnElement[Any] = sa.literal_column(str(10 ** (digits - 2)), sa.BigInteger)
        whens.append((ms < 10**digits, ms // step * step))
    return sa.case(*whens, else_=ms)


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _operator() -> sa.ColumnElement[Any]:
    return sa.func.coalesce(MESSAGES.c.operator, sa.literal_column("''"))


def _the_day(table: sa.Table) -> list[sa.ColumnElement[bool]]:
    return [table.c.tenant_id == _TENANT, table.c.created_at >= _START, table.c.created_at < _END]


def _message_days() -> sa.Insert:
    m = MESSAGES.c
    submitted = m.provider_message_id.is_not(None)
    operator = _operator().label("operator")
    figures = (
        sa.select(
            _TENANT,
            _DAY,
            m.template_id,
            operator,
            sa.func.count(),
            _count_if(submitted),
            _count_if(m.status.in_(DELIVERED_STATES)),
            sa.func.count(STATES.c.id),
            _count_if(STATES.c.completed_at.is_not(None)),
            _count_if(TICKETS.c.called_at.is_not(None)),
            _count_if(m.status.in_(FAILED_STATES)),
            _count_if(submitted & (m.status == MessageStatus.FAILED.value)),
            _count_if(m.status == MessageStatus.UNKNOWN.value),
        )
        .select_from(
            MESSAGES.outerjoin(STATES, STATES.c.message_id == m.id).outerjoin(
                TICKETS, TICKETS.c.message_id == m.id
            )
        )
        .where(*_the_day(MESSAGES))
        .group_by(m.template_id, operator)
    )
    columns = [
        "tenant_id",
        "day",
        "template_id",
        "operator",
        "accepted",
        "submitted",
        "delivered",
        "opened",
        "location_shared",
        "ticket_called",
        "failed",
        "undelivered",
        "no_report",
    ]
    return sa.insert(MESSAGE_DAYS).from_select(columns, figures)


def _latencies() -> sa.Insert:
    m = MESSAGES.c
    sent = EVENTS.alias("sent")
    done = EVENTS.alias("done")
    each = (
        sa.select(_operator().label("operator"), elapsed_ms(done.c.at, sent.c.at).label("ms"))
        .select_from(
            MESSAGES.join(
                sent, (sent.c.message_id == m.id) & (sent.c.type == MessageStatus.SUBMITTED.value)
            ).join(done, (done.c.message_id == m.id) & (done.c.type == MessageStatus.DELIVERED.value))
        )
        .where(*_the_day(MESSAGES))
        .subquery()
    )
    bucketed = sa.select(each.c.operator, bucket_sql(each.c.ms).label("bucket")).subquery()
    grouped = sa.select(_TENANT, _DAY, bucketed.c.operator, bucketed.c.bucket, sa.func.count()).group_by(
        bucketed.c.operator, bucketed.c.bucket
    )
    return sa.insert(LATENCIES).from_select(
        ["tenant_id", "day", "operator", "bucket_ms", "messages"], grouped
    )


def _final_failures() -> sa.Insert:
    m = MESSAGES.c
    reason = sa.case(
        (m.status == MessageStatus.EXPIRED.value, sa.literal_column("'EXPIRED'")),
        else_=sa.func.coalesce(m.failure_reason, sa.literal_column("'UNKNOWN'")),
    )
    each = (
        sa.select(_operator().label("operator"), reason.label("reason"))
        .where(*_the_day(MESSAGES), m.status.in_(FAILED_STATES))
        .subquery()
    )
    grouped = sa.select(
        _TENANT, _DAY, each.c.operator, sa.literal_column(f"'{FINAL_KIND}'"), each.c.reason, sa.func.count()
    ).group_by(each.c.operator, each.c.reason)
    return sa.insert(FAILURES).from_select(
        ["tenant_id", "day", "operator", "kind", "reason", "count"], grouped
    )


def _operator_errors() -> sa.Insert:
    m, e = MESSAGES.c, EVENTS.c
    each = (
        sa.select(
            _operator().label("operator"),
            e.type.label("kind"),
            sa.func.coalesce(e.detail, sa.literal_column("''")).label("reason"),
        )
        .select_from(EVENTS.join(MESSAGES, m.id == e.message_id))
        .where(*_the_day(MESSAGES), e.type.in_(ERROR_EVENTS))
        .subquery()
    )
    grouped = sa.select(_TENANT, _DAY, each.c.operator, each.c.kind, each.c.reason, sa.func.count()).group_by(
        each.c.operator, each.c.kind, each.c.reason
    )
    return sa.insert(FAILURES).from_select(
        ["tenant_id", "day", "operator", "kind", "reason", "count"], grouped
    )


def _usage_days() -> sa.Insert:
    u = USAGE.c
    grouped = (
        sa.select(_TENANT, _DAY, u.operator, u.capability, sa.func.count(), _count_if(u.billed.is_(True)))
        .where(*_the_day(USAGE))
        .group_by(u.operator, u.capability)
    )
    return sa.insert(USAGE_DAYS).from_select(
        ["tenant_id", "day", "operator", "capability", "calls", "billed"], grouped
    )


def _verify_days() -> sa.Insert:
    v = VERIFY.c
    completed = v.status == "completed"
    figures = (
        sa.select(
            _TENANT,
            _DAY,
            sa.func.count(),
            _count_if(completed),
            _count_if(completed & v.verified_by_code.is_(True)),
            _count_if(v.status == "failed"),
            _count_if(v.status == "expired"),
            _count_if(v.status == "cancelled"),
            _count_if(v.status == "pending"),
        )
        .where(*_the_day(VERIFY))
        .having(sa.func.count() > 0)
    )
    columns = [
        "tenant_id",
        "day",
        "requests",
        "completed",
        "by_code",
        "failed",
        "expired",
        "cancelled",
        "pending",
    ]
    return sa.insert(VERIFY_DAYS).from_select(columns, figures)


def _queue_days() -> sa.Insert:
    t = TICKETS.c
    called = t.called_at.is_not(None)
    figures = (
        sa.select(
            _TENANT,
            _DAY,
            t.branch_id,
            sa.func.count(),
            _count_if(called),
            _count_if(t.status == "no_show"),
            _count_if(t.status == "cancelled"),
            _count_if(t.status == "waiting"),
            _count_if(called),
            sa.func.coalesce(sa.func.sum(sa.case((called, elapsed_ms(t.called_at, t.issued_at)))), 0),
        )
        .where(
            t.branch_id.in_(sa.select(BRANCHES.c.id).where(BRANCHES.c.tenant_id == _TENANT)),
            t.service_day == _DAY,
        )
        .group_by(t.branch_id)
    )
    columns = [
        "tenant_id",
        "day",
        "branch_id",
        "issued",
        "called",
        "no_show",
        "cancelled",
        "waiting",
        "waited",
        "wait_ms",
    ]
    return sa.insert(QUEUE_DAYS).from_select(columns, figures)


def _webhook_days() -> sa.Insert:
    d = DELIVERIES.c
    each = (
        sa.select(sa.func.coalesce(d.sink, sa.literal_column("''")).label("target"), d.status)
        .where(*_the_day(DELIVERIES))
        .subquery()
    )
    grouped = sa.select(_TENANT, _DAY, each.c.target, each.c.status, sa.func.count()).group_by(
        each.c.target, each.c.status
    )
    return sa.insert(WEBHOOK_DAYS).from_select(
        ["tenant_id", "day", "target", "status", "deliveries"], grouped
    )


_INSERTS = (
    _message_days(),
    _latencies(),
    _final_failures(),
    _operator_errors(),
    _usage_days(),
    _verify_days(),
    _queue_days(),
    _webhook_days(),
)


def _claim(
    conn: Connection, tenant_id: str, day: str, seen: datetime | None, now: datetime, final: bool
) -> bool:
    """Take (tenant, day) for computing: True when no one else computed it since ``seen``."""
    values = {"tenant_id": tenant_id, "day": day, "computed_at": now, "final": final}
    if seen is None:
        insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(REFRESHES)
        return bool(conn.execute(insert.values(values).on_conflict_do_nothing()).rowcount == 1)
    r = REFRESHES.c
    moved = conn.execute(
        sa.update(REFRESHES)
        .where(r.tenant_id == tenant_id, r.day == day, r.computed_at == seen, r.final.is_(False))
        .values(computed_at=now, final=final)
    )
    return bool(moved.rowcount == 1)


def _compute(due: Due, now: datetime, conn: Connection) -> bool:
    """Recompute one (tenant, day) if it can be claimed (see the module docstring); whether it was."""
    tenant_id, day = due.tenant_id, due.day
    start, end = _day_bounds(day)
    text = day.isoformat()
    if not _claim(conn, tenant_id, text, due.seen, now, final=now >= closes(day, due.open_until)):
        return False
    for table in ROLLUPS:
        conn.execute(sa.delete(table).where(table.c.tenant_id == tenant_id, table.c.day == text))
    params = {"tenant_id": tenant_id, "day": text, "start": start, "end": end}
    for insert in _INSERTS:
        conn.execute(insert, params)
    return True


class Due(NamedTuple):
    """A (tenant, day) to compute, with its refresh row as last read (``seen``: its ``computed_at``)."""

    tenant_id: str
    day: date
    seen: datetime | None
    open_until: datetime | None


@dataclass(frozen=True, slots=True)
class Computed:
    """What one :meth:`Rollups.refresh` did: the (tenant, day)s it computed, and how many were still due."""

    days: list[tuple[str, date]]
    left: int


def _first_day(conn: Connection, tenant_id: str) -> date | None:
    """The day of the tenant's oldest message, usage row, verification request, webhook delivery or
    ticket (indexed lookups), or None when it has none."""
    days = []
    for table in (MESSAGES, USAGE, VERIFY, DELIVERIES):
        oldest = conn.execute(
            sa.select(sa.func.min(table.c.created_at)).where(table.c.tenant_id == tenant_id)
        ).scalar()
        if oldest is not None:
            days.append(shanghai_today(as_utc(oldest)))
    mine = sa.select(BRANCHES.c.id).where(BRANCHES.c.tenant_id == tenant_id)
    ticket_day = conn.execute(
        sa.select(sa.func.min(TICKETS.c.service_day)).where(TICKETS.c.branch_id.in_(mine))
    ).scalar()
    if ticket_day is not None:
        days.append(date.fromisoformat(ticket_day))
    return min(days, default=None)


def _plan(now: datetime, first_days: dict[str, date], conn: Connection) -> list[Due]:
    """Every due (tenant, day) of tenants with rows: the days that can still change newest first,
    then the others oldest first, so a tenant's final days run without a gap from its first day
    (days a dead-letter retry reopened may lie before; they are taken from their refresh rows).
    ``first_days`` caches each tenant's first day (it never moves)."""
    r = REFRESHES.c
    today = shanghai_today(now)
    last_final = {
        row[0]: date.fromisoformat(row[1])
        for row in conn.execute(
            sa.select(r.tenant_id, sa.func.max(r.day)).where(r.final.is_(True)).group_by(r.tenant_id)
        )
    }
    known: dict[str, dict[date, tuple[datetime, datetime | None]]] = {}
    for row in conn.execute(
        sa.select(r.tenant_id, r.day, r.computed_at, r.open_until).where(r.final.is_(False))
    ):
        known.setdefault(row.tenant_id, {})[date.fromisoformat(row.day)] = (
            as_utc(row.computed_at),
            as_utc(row.open_until),
        )
    recent: list[Due] = []
    settled: list[Due] = []
    for (tenant_id,) in conn.execute(sa.select(TENANTS.c.id).order_by(TENANTS.c.id)):
        first = last_final.get(tenant_id)
        if first is not None:
            first += timedelta(days=1)
        else:
            found = first_days.get(tenant_id) or _first_day(conn, tenant_id)
            if found is None:
                continue
            first = first_days[tenant_id] = found
        computed = known.get(tenant_id, {})
        days = sorted({*(first + timedelta(days=n) for n in range((today - first).days + 1)), *computed})
        for day in days:
            seen, open_until = computed.get(day, (None, None))
            if is_due(day, seen, False, now, open_until):
                due = Due(tenant_id, day, seen, open_until)
                (settled if now >= closes(day, open_until) else recent).append(due)
    recent.sort(key=lambda due: due.day, reverse=True)
    settled.sort(key=lambda due: due.day)
    return recent + settled


class Rollups:
    """See the module docstring."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._first_days: dict[str, date] = {}

    async def refresh(self, *, budget: int = 50) -> Computed:
        """Compute up to ``budget`` due (tenant, day)s, newest first, each in its own transaction."""
        now = self._clock.now()
        due = await run_unit(self._engine, partial(_plan, now, self._first_days), writes=False)
        done: list[tuple[str, date]] = []
        for item in due[:budget]:
            if await run_unit(self._engine, partial(_compute, item, self._clock.now())):
                done.append((item.tenant_id, item.day))
        if done:
            log.info("dashboard_rollups_refreshed", days=len(done), left=max(0, len(due) - budget))
        return Computed(done, max(0, len(due) - budget))

    async def compute(self, tenant_id: str, day: date) -> None:
        """Compute one (tenant, day) now, whether due or not (final days too: a repair)."""
        now = self._clock.now()

        def work(conn: Connection) -> bool:
            r = REFRESHES.c
            mine = (r.tenant_id == tenant_id, r.day == day.isoformat())
            row = conn.execute(sa.select(r.computed_at, r.open_until).where(*mine)).first()
            if row is None:
                return _compute(Due(tenant_id, day, None, None), now, conn)
            conn.execute(sa.update(REFRESHES).where(*mine).values(final=False))
            return _compute(Due(tenant_id, day, row.computed_at, as_utc(row.open_until)), now, conn)

        await run_unit(self._engine, work)

    async def reopen(self, tenant_id: str, days: Collection[date], until: datetime) -> None:
        """Make the tenant's computed ``days`` due at the next refresh and keep them open (not
        final) until at least ``until``: a dead-letter retry changes deliveries of old days."""
        r = REFRESHES.c
        later = sa.case((r.open_until.is_(None) | (r.open_until < until), until), else_=r.open_until)

        def work(conn: Connection) -> None:
            for day in days:
                start, _ = _day_bounds(day)
                conn.execute(
                    sa.update(REFRESHES)
                    .where(r.tenant_id == tenant_id, r.day == day.isoformat())
                    .values(final=False, open_until=later, computed_at=start)
                )

        if days:
            await run_unit(self._engine, work)


class Refresher:
    """Runs :meth:`Rollups.refresh` every ``interval`` seconds, the first ``interval`` seconds after
    the start, until stopped (sooner while a backfill leaves due days); a failed round is logged
    and retried at the next."""

    def __init__(
        self, rollups: Rollups, *, interval: float = 30.0, sleep: Callable[[float], Any] = asyncio.sleep
    ):
        self._rollups = rollups
        self._interval = interval
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the background loop."""
        self._task = asyncio.create_task(self._run(), name="dashboard-rollups")

    async def stop(self) -> None:
        """Stop the loop (a round under way is cancelled; its days are committed or not, each whole)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        await self._sleep(self._interval)
        while True:
            pause = self._interval
            try:
                if (await self._rollups.refresh()).left:
                    pause = 0.0
            except Exception:
                log.exception("dashboard_rollups_failed")
            await self._sleep(pause)
