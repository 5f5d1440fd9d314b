"""Outbox and backlog gauges, read from the database when ``GET /metrics`` is scraped.

They describe state every process shares (the database), not one process's samples, so they stay
out of the multiprocess registry: whichever process answers a scrape reads them, at most once
per ``ttl`` (5 s; scrapes in between reuse that reading), and :mod:`gateway.metrics` appends them
from their own registry.

- ``gateway_push_outbox_messages{status}``: push messages ``queued`` (no operator accepted them
  yet) and ``submitted`` (accepted, delivery report outstanding).
- ``gateway_push_outbox_due_messages``: queued messages whose send time has come (not waiting for
  quiet hours to end or for a retry's backoff): the dispatch queue's due messages, leased or not.
- ``gateway_push_outbox_oldest_due_seconds``: how long the oldest due queued message has been
  sendable (now - its ``scheduled_at``); 0 when none is due.
- ``gateway_webhook_backlog_deliveries{target}``: pending webhook deliveries, by ``target``:
  ``endpoint`` (the tenant's ``PUT /push/v1/webhook``) or a feature's sink kind
  (``sim-swap-subscription``: CAMARA subscription events).
- ``gateway_webhook_backlog_oldest_seconds{target}``: age of the oldest pending delivery.
- ``gateway_backlog_up``: 1 when the last reading succeeded; 0 when the database did not answer
  (the gauges above are then left out rather than reported stale).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
import structlog
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.db import as_utc
from gateway.push.dispatch import OUTBOX
from gateway.push.models import PushMessage
from gateway.push.states import MessageStatus
from gateway.webhooks.models import WebhookDelivery

__all__ = ["SCRAPE_TTL_SECONDS", "BacklogGauges", "BacklogSnapshot", "read_backlog"]

SCRAPE_TTL_SECONDS = 5.0
"""How long one database reading serves the scrapes of a process (the default ``ttl``)."""

log = structlog.get_logger(__name__)
_OUTBOX_STATUSES = (MessageStatus.QUEUED.value, MessageStatus.SUBMITTED.value)
_PENDING = "pending"
_ENDPOINT = "endpoint"


@dataclass(frozen=True, slots=True)
class BacklogSnapshot:
    """One reading of the outboxes (see the module docstring for each value's meaning)."""

    push_by_status: dict[str, int]
    push_due: int
    push_oldest_due_seconds: float
    webhook_pending: dict[str, int] = field(default_factory=dict)
    webhook_oldest_seconds: dict[str, float] = field(default_factory=dict)


def _age(now: datetime, since: datetime | None) -> float:
    moment = as_utc(since)
    return 0.0 if moment is None else max(0.0, (now - moment).total_seconds())


async def read_backlog(sessions: async_sessionmaker[AsyncSession], now: datetime) -> BacklogSnapshot:
    """Count the push outbox and the webhook backlog as of ``now`` (three indexed queries)."""
    async with sessions() as session:
        by_status = (
            await session.exec(
                select(PushMessage.status, sa.func.count())
                .where(col(PushMessage.status).in_(_OUTBOX_STATUSES))
                .group_by(col(PushMessage.status))
            )
        ).all()
        due_count, oldest_due = (
            await session.exec(
                select(sa.func.count(), sa.func.min(col(PushMessage.scheduled_at))).where(*OUTBOX.due(now))
            )
        ).one()
        by_sink = (
            await session.exec(
                select(WebhookDelivery.sink, sa.func.count(), sa.func.min(col(WebhookDelivery.created_at)))
                .where(col(WebhookDelivery.status) == _PENDING)
                .group_by(col(WebhookDelivery.sink))
            )
        ).all()
    pending: dict[str, int] = {_ENDPOINT: 0}
    oldest: dict[str, float] = {_ENDPOINT: 0.0}
    for sink, count, created in by_sink:
        target = _ENDPOINT if sink is None else sink.partition(":")[0]
        pending[target] = pending.get(target, 0) + count
        oldest[target] = max(oldest.get(target, 0.0), _age(now, created))
    return BacklogSnapshot(
        push_by_status={status: 0 for status in _OUTBOX_STATUSES} | {status: n for status, n in by_status},
        push_due=int(due_count),
        push_oldest_due_seconds=_age(now, oldest_due),
        webhook_pending=pending,
        webhook_oldest_seconds=oldest,
    )


class _SnapshotCollector(Collector):
    def __init__(self) -> None:
        self.snapshot: BacklogSnapshot | None = None

    def collect(self) -> Iterable[Metric]:
        snapshot = self.snapshot
        yield GaugeMetricFamily(
            "gateway_backlog_up",
            "1 when the last backlog reading succeeded.",
            value=int(snapshot is not None),
        )
        if snapshot is None:
            return
        messages = GaugeMetricFamily(
            "gateway_push_outbox_messages", "Push messages queued or submitted.", labels=["status"]
        )
        for status, count in sorted(snapshot.push_by_status.items()):
            messages.add_metric([status], count)
        yield messages
        yield GaugeMetricFamily(
            "gateway_push_outbox_due_messages",
            "Queued push messages whose send time has come.",
            snapshot.push_due,
        )
        yield GaugeMetricFamily(
            "gateway_push_outbox_oldest_due_seconds",
            "Seconds the oldest due queued push message has been sendable.",
            snapshot.push_oldest_due_seconds,
        )
        pending = GaugeMetricFamily(
            "gateway_webhook_backlog_deliveries", "Pending webhook deliveries by target.", labels=["target"]
        )
        oldest = GaugeMetricFamily(
            "gateway_webhook_backlog_oldest_seconds",
            "Age of the oldest pending webhook delivery by target.",
            labels=["target"],
        )
        for target in sorted(snapshot.webhook_pending):
            pending.add_metric([target], snapshot.webhook_pending[target])
            oldest.add_metric([target], snapshot.webhook_oldest_seconds.get(target, 0.0))
        yield pending
        yield oldest


class BacklogGauges:
    """The backlog gauges of one database, read at most once per ``ttl`` seconds
    (default :data:`SCRAPE_TTL_SECONDS`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        ttl: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._ttl = SCRAPE_TTL_SECONDS if ttl is None else ttl
        self._monotonic = monotonic
        self._read_at: float | None = None
        self._lock = asyncio.Lock()
        self._collector = _SnapshotCollector()
        self._registry = CollectorRegistry()
        self._registry.register(self._collector)

    async def refresh(self) -> BacklogSnapshot | None:
        """Read the database unless the last reading is younger than ``ttl``; the current reading
        (None when the database did not answer)."""
        async with self._lock:
            if self._read_at is None or self._monotonic() - self._read_at >= self._ttl:
                try:
                    self._collector.snapshot = await read_backlog(self._sessions, self._clock.now())
                except (sa.exc.SQLAlchemyError, OSError) as exc:
                    log.warning("backlog_read_failed", error=type(exc).__name__)
                    self._collector.snapshot = None
                self._read_at = self._monotonic()
            return self._collector.snapshot

    async def exposition(self) -> bytes:
        """The gauges in the Prometheus text format, refreshed if stale."""
        await self.refresh()
        return generate_latest(self._registry)
