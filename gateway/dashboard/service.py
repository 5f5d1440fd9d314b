"""The operations dashboard of one tenant (issue 21): what its messages, identity calls, webhooks,
verifications and queues did over a :class:`~gateway.dashboard.period.Period`.

Every method reads one tenant's rows only (each statement binds ``tenant_id``), in read units
(:func:`gateway.db.run_unit` with ``writes=False``): the figures from the daily rollups
(:mod:`gateway.dashboard.rollups`, kept by :attr:`DashboardService.rollups`; what each counts is
stated in :mod:`gateway.dashboard.queries`), so they are as recent as ``as_of``. Numbers stay
masked: :meth:`search` finds a message by its id or by the last four digits of its number (a keyed
blind index under the tenant's scope, so another tenant's messages are never found) and shows the
number as ``+86138****8000``. :meth:`retry_dead_letters` requeues an endpoint's failed webhook
deliveries. Queue figures can be narrowed to some branches (a supervisor's); the others are the
tenant's.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.clock import Clock
from gateway.crypto import BlindIndex, DecryptionError, FieldCipher
from gateway.dashboard import queries
from gateway.dashboard.period import Period
from gateway.dashboard.rollups import FINAL_KIND, Rollups
from gateway.dashboard.sql import as_day, shanghai_day
from gateway.db import as_utc, run_unit
from gateway.errors import InvalidArgument
from gateway.logs import mask_phone
from gateway.push.models import recipient_aad, recipient_last4_scope
from gateway.webhooks import WebhookService

__all__ = [
    "REOPEN",
    "SEARCH_LIMIT",
    "DashboardService",
    "Failure",
    "Funnel",
    "FunnelRow",
    "IdentityRow",
    "OperatorError",
    "OperatorFigures",
    "Operators",
    "Outage",
    "QueueRow",
    "SearchHit",
    "VerificationRow",
    "WebhookTarget",
    "capability_family",
    "nearest_rank",
]

log = structlog.get_logger(__name__)
SEARCH_LIMIT = 50
REOPEN = timedelta(hours=25)
"""How long the days of retried dead letters stay open after the retry."""
_LAST4 = re.compile(r"[0-9]{4}")


@dataclass(frozen=True, slots=True)
class FunnelRow:
    """One day's messages of one template (``template_id`` ``None``: every template of the day)."""

    day: date
    template_id: str | None
    template_name: str | None
    accepted: int
    submitted: int
    delivered: int
    opened: int
    location_shared: int
    ticket_called: int
    failed: int

    @property
    def completed(self) -> int:
        """Flows completed: locations shared and tickets called."""
        return self.location_shared + self.ticket_called


@dataclass(frozen=True, slots=True)
class Failure:
    """Failed messages of one reason."""

    reason: str
    messages: int


@dataclass(frozen=True, slots=True)
class Funnel:
    """The message funnel: per day and template, per day (every template), and failures by reason;
    ``as_of``: see :meth:`DashboardService.as_of`."""

    rows: list[FunnelRow]
    days: list[FunnelRow]
    failures: list[Failure]
    as_of: datetime | None


@dataclass(frozen=True, slots=True)
class OperatorFigures:
    """One operator's messages and delivery-report latency: ``timed`` messages have both a
    ``submitted`` and a ``delivered`` entry, the percentiles are milliseconds between the two, by
    nearest rank, to two significant digits (cut: 2,437 ms reads 2,400)."""

    operator: str
    accepted: int
    submitted: int
    delivered: int
    undelivered: int
    no_report: int
    timed: int
    p50_ms: int | None
    p95_ms: int | None

    @property
    def delivery_rate(self) -> float | None:
        """Delivered among submitted, 0 to 1; None before anything was submitted."""
        return self.delivered / self.submitted if self.submitted else None


@dataclass(frozen=True, slots=True)
class OperatorError:
    """How often one operator failed one way: ``kind`` ``submit_failed`` (a refused or timed-out
    submission, retried), ``failed`` (final: the reason or the report's status word) or ``unknown``
    (no report in time)."""

    operator: str
    kind: str
    reason: str
    events: int


@dataclass(frozen=True, slots=True)
class Outage:
    """One operator outage as one gateway process's circuit breaker saw it
    (:mod:`gateway.circuit_journal`); ``closed_at`` None while it lasts."""

    operator: str
    process: str
    opened_at: datetime
    closed_at: datetime | None

    def seconds(self, now: datetime) -> float:
        """How long the circuit stayed (or has been) open."""
        return ((self.closed_at or now) - self.opened_at).total_seconds()


@dataclass(frozen=True, slots=True)
class Operators:
    """Per-operator figures, errors and circuit outages; ``as_of``: see
    :meth:`DashboardService.as_of` (outages are read live)."""

    figures: list[OperatorFigures]
    errors: list[OperatorError]
    outages: list[Outage]
    as_of: datetime | None


@dataclass(frozen=True, slots=True)
class IdentityRow:
    """Usage-ledger rows of one day, operator and capability."""

    day: date
    operator: str
    capability: str
    calls: int
    billed: int

    @property
    def family(self) -> str:
        """``one_tap``, ``camara``, ``verify`` or ``other`` (:func:`capability_family`)."""
        return capability_family(self.capability)


@dataclass(frozen=True, slots=True)
class VerificationRow:
    """Verification requests created on one day, by status."""

    day: date
    requests: int
    completed: int
    by_code: int
    failed: int
    expired: int
    cancelled: int
    pending: int


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """Deliveries to one target: ``target`` ``""`` is the tenant's endpoint, else a sink
    (``<kind>:<key>``). ``statuses`` counts the range's deliveries; ``dead`` and the last error
    are whatever the range."""

    target: str
    statuses: dict[str, int]
    dead: int
    last_error: str | None
    last_error_delivery: str | None
    last_error_at: datetime | None


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One branch's tickets of one service day."""

    day: date
    branch_id: str
    branch_name: str
    issued: int
    called: int
    no_show: int
    cancelled: int
    waiting: int
    average_wait_ms: int | None


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A message as the dashboard shows it: the number masked."""

    id: str
    created_at: datetime
    template_id: str
    template_name: str | None
    operator: str | None
    status: str
    failure_reason: str | None
    segments: int
    to_masked: str


def capability_family(capability: str) -> str:
    """The product a usage-ledger capability belongs to."""
    for prefix, family in (("one_tap_", "one_tap"), ("camara_", "camara"), ("verify_", "verify")):
        if capability.startswith(prefix):
            return family
    return "other"


def _fetch(statement: queries.Query, params: Mapping[str, Any], conn: Connection) -> list[sa.Row[Any]]:
    return list(conn.execute(statement, params))


class DashboardService:
    """See the module docstring."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        cipher: FieldCipher,
        index: BlindIndex,
        webhooks: WebhookService,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._cipher = cipher
        self._index = index
        self._webhooks = webhooks
        self._clock = clock
        self.rollups = Rollups(engine, clock)

    async def _rows(self, statement: queries.Query, **params: Any) -> list[sa.Row[Any]]:
        return await run_unit(self._engine, partial(_fetch, statement, params), writes=False)

    async def template_names(self, tenant_id: str) -> dict[str, str]:
        """The tenant's template names by id."""
        t = queries.TEMPLATES.c
        rows = await self._rows(
            sa.select(t.id, t.name).where(t.tenant_id == sa.bindparam("tenant_id")), tenant_id=tenant_id
        )
        return {row.id: row.name for row in rows}

    async def _days(self, statement: queries.Query, tenant_id: str, period: Period) -> list[sa.Row[Any]]:
        return await self._rows(
            statement,
            tenant_id=tenant_id,
            first_day=period.first.isoformat(),
            last_day=period.last.isoformat(),
        )

    async def as_of(self, tenant_id: str, period: Period) -> datetime | None:
        """When the oldest rollup day of the range was computed (None: none is yet): the message
        figures are at least as recent."""
        [row] = await self._days(queries.freshness(), tenant_id, period)
        return as_utc(row.oldest) if row.oldest is not None else None

    async def funnel(self, tenant_id: str, period: Period) -> Funnel:
        """The message funnel of the messages accepted in ``period`` (from the rollups)."""
        names = await self.template_names(tenant_id)
        rows = [
            FunnelRow(
                day=as_day(row.day),
                template_id=row.template_id,
                template_name=names.get(row.template_id),
                **{step: int(row._mapping[step]) for step in queries.FUNNEL_STEPS},
            )
            for row in await self._days(queries.funnel(), tenant_id, period)
        ]
        reasons: dict[str, int] = {}
        for row in await self._days(queries.failures(), tenant_id, period):
            if row.kind == FINAL_KIND:
                reasons[row.reason] = reasons.get(row.reason, 0) + int(row._mapping["count"])
        failures = [
            Failure(reason, n) for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        return Funnel(
            rows=rows,
            days=_per_day(period, rows),
            failures=failures,
            as_of=await self.as_of(tenant_id, period),
        )

    async def operators(self, tenant_id: str, period: Period) -> Operators:
        """Per-operator delivery figures, report latency and errors of the messages accepted in
        ``period`` (from the rollups), and the operators' circuit outages that overlap it."""
        buckets: dict[str, list[tuple[int, int]]] = {}
        for row in await self._days(queries.latency(), tenant_id, period):
            buckets.setdefault(row.operator, []).append((int(row.bucket_ms), int(row.messages)))
        figures = []
        for row in await self._days(queries.operators(), tenant_id, period):
            histogram = buckets.get(row.operator, [])
            figures.append(
                OperatorFigures(
                    operator=row.operator,
                    **{name: int(row._mapping[name]) for name in queries.OPERATOR_FIGURES},
                    timed=sum(n for _, n in histogram),
                    p50_ms=nearest_rank(histogram, 50),
                    p95_ms=nearest_rank(histogram, 95),
                )
            )
        errors = sorted(
            (
                OperatorError(row.operator, row.kind, row.reason, int(row._mapping["count"]))
                for row in await self._days(queries.failures(), tenant_id, period)
                if row.kind != FINAL_KIND
            ),
            key=lambda e: (e.operator, e.kind, -e.events, e.reason),
        )
        outages = [
            Outage(
                row.operator,
                row.process,
                as_utc(row.opened_at),
                as_utc(row.closed_at) if row.closed_at else None,
            )
            for row in await self._rows(queries.outages(), start=period.start, end=period.end)
        ]
        return Operators(
            figures=figures, errors=errors, outages=outages, as_of=await self.as_of(tenant_id, period)
        )

    async def identity_calls(self, tenant_id: str, period: Period) -> list[IdentityRow]:
        """One-tap, CAMARA and verification calls per day, operator and capability, with the billed
        count (from the rollups)."""
        return [
            IdentityRow(as_day(row.day), row.operator, row.capability, int(row.calls), int(row.billed))
            for row in await self._days(queries.identity_calls(), tenant_id, period)
        ]

    async def verifications(self, tenant_id: str, period: Period) -> list[VerificationRow]:
        """Verification requests per day of creation, by status (from the rollups)."""
        return [
            VerificationRow(
                day=as_day(row.day), **{name: int(row._mapping[name]) for name in queries.VERIFY_FIGURES}
            )
            for row in await self._days(queries.verifications(), tenant_id, period)
        ]

    async def webhooks(self, tenant_id: str, period: Period) -> list[WebhookTarget]:
        """Webhook deliveries per target: the range's by status, dead letters and the latest error."""
        statuses: dict[str, dict[str, int]] = {}
        for row in await self._days(queries.webhook_totals(), tenant_id, period):
            statuses.setdefault(row.target, {})[row.status] = int(row.deliveries)
        dead = {
            row.sink or "": row.dead
            for row in await self._rows(queries.webhook_dead_letters(), tenant_id=tenant_id)
        }
        errors = {
            row.sink or "": row
            for row in await self._rows(queries.webhook_last_errors(), tenant_id=tenant_id)
        }
        targets = sorted(statuses.keys() | dead.keys() | errors.keys())
        return [
            WebhookTarget(
                target=target,
                statuses=statuses.get(target, {}),
                dead=dead.get(target, 0),
                last_error=errors[target].last_error if target in errors else None,
                last_error_delivery=errors[target].id if target in errors else None,
                last_error_at=as_utc(errors[target].at) if target in errors else None,
            )
            for target in targets
        ]

    async def retry_dead_letters(self, tenant_id: str, target: str = "") -> int:
        """Requeue the dead letters of the tenant's endpoint (``target`` ``""``) or of a sink; how
        many. The days they were created on are computed again at the next refresh and stay open
        for :data:`REOPEN` (a retried delivery settles within its new 24 h window).

        :raises NotFound: the tenant has no such endpoint or sink.
        :raises WebhookEndpointDisabled: the endpoint is disabled (a 410): register it again first.
        """
        d = queries.DELIVERIES.c
        aimed = d.sink.is_(None) if not target else d.sink == target
        day = shanghai_day(d.created_at)
        days = await self._rows(
            sa.select(day)
            .where(d.tenant_id == sa.bindparam("tenant_id"), d.status == "failed", aimed)
            .group_by(day),
            tenant_id=tenant_id,
        )
        requeued = await self._webhooks.retry_dead_letters(tenant_id, sink=target or None)
        if requeued:
            await self.rollups.reopen(tenant_id, [as_day(row[0]) for row in days], self._clock.now() + REOPEN)
        return requeued

    async def queues(
        self, tenant_id: str, period: Period, *, branches: Collection[str] | None = None
    ) -> list[QueueRow]:
        """Tickets per service day and branch (from the rollups): every branch of the tenant, or those
        of ``branches`` (a supervisor's)."""
        b = queries.BRANCHES.c
        known = {
            row.id
            for row in await self._rows(
                sa.select(b.id).where(b.tenant_id == sa.bindparam("tenant_id")), tenant_id=tenant_id
            )
        }
        chosen = sorted(known if branches is None else known & set(branches))
        if not chosen:
            return []
        rows = await self._rows(
            queries.queues(),
            tenant_id=tenant_id,
            branch_ids=chosen,
            first_day=period.first.isoformat(),
            last_day=period.last.isoformat(),
        )
        return [
            QueueRow(
                day=as_day(row.day),
                branch_id=row.branch_id,
                branch_name=row.name,
                issued=int(row.issued),
                called=int(row.called),
                no_show=int(row.no_show),
                cancelled=int(row.cancelled),
                waiting=int(row.waiting),
                average_wait_ms=round(int(row.wait_ms) / int(row.waited)) if row.waited else None,
            )
            for row in rows
        ]

    async def search(self, tenant_id: str, query: str) -> list[SearchHit]:
        """The tenant's message with the id ``query``, or its newest :data:`SEARCH_LIMIT` messages to
        numbers ending in the four digits ``query``.

        :raises InvalidArgument: ``query`` is neither a message id nor four digits.
        """
        text = query.strip()
        m = queries.MESSAGES.c
        if _LAST4.fullmatch(text):
            candidates = self._index.candidates(text, scope=recipient_last4_scope(tenant_id))
            where: sa.ColumnElement[bool] = m.recipient_last4_index.in_(candidates)
        elif _is_uuid(text):
            where = m.id == text
        else:
            raise InvalidArgument("q: a message id, or the last 4 digits of the number.")
        statement = (
            sa.select(
                m.id,
                m.created_at,
                m.template_id,
                m.operator,
                m.status,
                m.failure_reason,
                m.segments,
                m.recipient_cipher,
            )
            .where(m.tenant_id == sa.bindparam("tenant_id"), where)
            .order_by(m.created_at.desc(), m.id)
            .limit(SEARCH_LIMIT)
        )
        rows = await self._rows(statement, tenant_id=tenant_id)
        names = await self.template_names(tenant_id) if rows else {}
        return [
            SearchHit(
                id=row.id,
                created_at=as_utc(row.created_at),
                template_id=row.template_id,
                template_name=names.get(row.template_id),
                operator=row.operator,
                status=row.status,
                failure_reason=row.failure_reason,
                segments=row.segments,
                to_masked=self._masked(tenant_id, row.id, row.recipient_cipher),
            )
            for row in rows
        ]

    def _masked(self, tenant_id: str, message_id: str, stored: str) -> str:
        try:
            return mask_phone(self._cipher.decrypt(stored, aad=recipient_aad(tenant_id, message_id)))
        except DecryptionError:
            log.error("dashboard_recipient_undecryptable", message_id=message_id)
            return ""


def _per_day(period: Period, rows: Sequence[FunnelRow]) -> list[FunnelRow]:
    """Every day of ``period`` with its templates' figures added up (zeros on a day without messages)."""
    totals: dict[date, list[int]] = {day: [0] * 7 for day in period.each_day()}
    for row in rows:
        figures = totals[row.day]
        for n, value in enumerate(
            (
                row.accepted,
                row.submitted,
                row.delivered,
                row.opened,
                row.location_shared,
                row.ticket_called,
                row.failed,
            )
        ):
            figures[n] += value
    return [FunnelRow(day, None, None, *figures) for day, figures in totals.items()]


def nearest_rank(histogram: Sequence[tuple[int, int]], percent: int) -> int | None:
    """The ``percent``-th percentile (nearest rank: the value at rank ⌈p·n/100⌉) of a histogram of
    (value, how many) sorted by value; None when it is empty."""
    total = sum(n for _, n in histogram)
    seen = 0
    for value, n in histogram:
        seen += n
        if seen * 100 >= total * percent:
            return value
    return None


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False
