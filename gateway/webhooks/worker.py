"""The delivery worker: claims due outbox rows under a lease, signs, POSTs, records the outcome.

Several gateway processes may run a worker on one database: they claim due pending deliveries
from :data:`OUTBOX`, a :class:`~gateway.leases.LeasedQueue` over
``lease_owner``/``lease_expires_at``, so concurrent workers take different rows. The outcome is
written only while the lease is still ours. A worker that dies mid-attempt leaves its lease to
expire (``lease``, 60 s by default) and another worker tries again: delivery is at least once,
and receivers deduplicate on ``webhook-id``.

Outcomes (Standard Webhooks): 2xx delivered; 410 disables the endpoint (reason recorded) and
fails every pending delivery of the tenant; anything else (other status, 3xx redirect, timeout,
refused address, connection error) is retried per :data:`RETRY` (full jitter from 5 s, capped
at 1 h, at least 1 s, a 429's or 503's ``Retry-After`` honoured up to the cap) until 24 h after
the first attempt, then failed. Every attempt is kept in ``webhook_attempts``. All scheduling
reads the injected clock.

Sink deliveries (:class:`~gateway.webhooks.service.SinkSource`) take their target from the
source at each attempt, send the source's content type and extra headers besides the signature
headers, and on 410 end the sink (:meth:`SinkSource.gone`) and fail that sink's other pending
deliveries instead of disabling the tenant's endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.crypto import DecryptionError
from gateway.db import as_utc, bound_engine
from gateway.leases import LeasedQueue
from gateway.retry import RetryPolicy, parse_retry_after
from gateway.webhooks.egress import SendResult
from gateway.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from gateway.webhooks.service import (
    DELIVERED,
    DISABLED,
    ENABLED,
    FAILED,
    PENDING,
    Target,
    WebhookService,
    fail_pending,
)
from gateway.webhooks.signing import signature_headers

__all__ = ["OUTBOX", "RETRY", "DeliveryWorker", "Sender"]

log = structlog.get_logger(__name__)
_GONE = 410
_DELIVERIES: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]

OUTBOX = LeasedQueue(
    _DELIVERIES,
    owner=_DELIVERIES.c.lease_owner,
    until=_DELIVERIES.c.lease_expires_at,
    order_by=_DELIVERIES.c.next_attempt_at,
    due=lambda now: (_DELIVERIES.c.status == PENDING, _DELIVERIES.c.next_attempt_at <= now),
)
"""The webhook outbox as a leased queue: pending deliveries whose next attempt is due."""

RETRY = RetryPolicy(base=5.0, cap=3600.0, floor=1.0, window=timedelta(hours=24))
"""The delivery retry schedule (see the module docstring)."""
_CLAIMED = (
    _DELIVERIES.c.id,
    _DELIVERIES.c.tenant_id,
    _DELIVERIES.c.event_type,
    _DELIVERIES.c.payload,
    _DELIVERIES.c.attempts,
    _DELIVERIES.c.first_attempt_at,
    _DELIVERIES.c.sink,
)


class Sender(Protocol):
    """Sends one attempt (see :class:`~gateway.webhooks.egress.WebhookSender`)."""

    async def send(self, url: str, body: bytes, headers: dict[str, str]) -> SendResult:
        """POST ``body``; never raises for network failures."""
        ...


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: str
    tenant_id: str
    event_type: str
    payload: str
    attempts: int
    first_attempt_at: datetime | None
    sink: str | None = None


def _worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"


class DeliveryWorker:
    """See the module docstring; an async context manager around the background task.

    :meth:`run_once` claims and delivers one batch and returns how many it handled (tests drive
    it directly); the background task does the same continuously, keeping up to ``concurrency``
    attempts in flight, polling every ``poll_interval`` seconds or when :meth:`wake` is called.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        webhooks: WebhookService,
        sender: Sender,
        clock: Clock,
        policy: RetryPolicy | None = None,
        poll_interval: float = 1.0,
        concurrency: int = 16,
        lease: timedelta = timedelta(seconds=60),
        name: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._engine = bound_engine(sessions)
        self._webhooks = webhooks
        self._sender = sender
        self._clock = clock
        self._policy = policy or RETRY
        self._poll_interval = poll_interval
        self._concurrency = concurrency
        self._lease = lease
        self.name = name or _worker_name()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._inflight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> DeliveryWorker:
        self._task = asyncio.create_task(self._run(), name=f"webhook-worker-{self.name}")
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let attempts in flight finish within ``grace`` seconds, then cancel."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._inflight:
            _, late = await asyncio.wait(self._inflight, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def wake(self) -> None:
        """Look for due deliveries now instead of at the next poll."""
        self._wakeup.set()

    async def run_once(self) -> int:
        """Claim up to ``concurrency`` due deliveries, attempt each, and wait for all of them."""
        claimed = await self._claim(self._concurrency)
        await asyncio.gather(*(self._attempt(row) for row in claimed))
        return len(claimed)

    async def _run(self) -> None:
        while not self._stopping:
            self._wakeup.clear()
            free = self._concurrency - len(self._inflight)
            if free > 0:
                try:
                    for row in await self._claim(free):
                        task = asyncio.create_task(self._attempt(row))
                        self._inflight.add(task)
                        task.add_done_callback(self._inflight.discard)
                except Exception as exc:
                    log.warning("webhook_claim_failed", worker=self.name, error=type(exc).__name__)
            await self._idle()

    async def _idle(self) -> None:
        waiter = asyncio.create_task(self._wakeup.wait())
        try:
            await asyncio.wait(
                {waiter, *self._inflight}, timeout=self._poll_interval, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiter

    async def _claim(self, limit: int) -> list[_Claimed]:
        now = self._clock.now()
        rows = await OUTBOX.claim(
            self._engine, owner=self.name, now=now, until=now + self._lease, limit=limit, columns=_CLAIMED
        )
        return [
            _Claimed(
                r["id"],
                r["tenant_id"],
                r["event_type"],
                r["payload"],
                r["attempts"],
                as_utc(r["first_attempt_at"]),
                r["sink"],
            )
            for r in rows
        ]

    async def _attempt(self, row: _Claimed) -> None:
        try:
            if row.sink is None:
                target = await self._webhooks.target(row.tenant_id)
                body = row.payload.encode()
            else:
                target = await self._webhooks.sink_target(row.tenant_id, row.sink)
                try:
                    body = self._webhooks.open_payload(row.tenant_id, row.id, row.payload)
                except DecryptionError:
                    await self._give_up(row, "the payload cannot be decrypted with the configured keys")
                    return
            unusable = self._unusable(row, target)
            if target is None or unusable is not None:
                await self._give_up(row, unusable or "endpoint removed")
                return
            started = self._clock.now()
            headers = {
                **target.headers,
                **signature_headers(row.id, started, body, target.secrets),
                "Content-Type": target.content_type,
            }
            result = await self._sender.send(target.url, body, headers)
            await self._record(row, target, started, result)
        except Exception:
            log.exception("webhook_attempt_crashed", delivery_id=row.id)

    @staticmethod
    def _unusable(row: _Claimed, target: Target | None) -> str | None:
        if target is None:
            return "endpoint removed" if row.sink is None else "sink removed"
        if not target.enabled:
            return f"endpoint disabled: {target.disabled_reason or 'unknown reason'}"
        if row.event_type not in target.events:
            return "the endpoint no longer subscribes to this event"
        if not target.secrets:
            return "the endpoint secret cannot be decrypted with the configured keys"
        return None

    async def _give_up(self, row: _Claimed, reason: str) -> None:
        async with self._sessions() as session, session.begin():
            await session.exec(
                OUTBOX.release(
                    self.name,
                    _DELIVERIES.c.id == row.id,
                    status=FAILED,
                    last_error=reason,
                    finished_at=self._clock.now(),
                )
            )
        log.info("webhook_delivery_failed", delivery_id=row.id, tenant_id=row.tenant_id, reason=reason)

    async def _record(self, row: _Claimed, target: Target, started: datetime, result: SendResult) -> None:
        now = self._clock.now()
        number = row.attempts + 1
        first = row.first_attempt_at or started
        status, next_at, finished, error = PENDING, None, None, result.error
        if result.delivered:
            status, finished = DELIVERED, now
        elif result.status == _GONE:
            status, finished = FAILED, now
            outcome = "endpoint disabled" if row.sink is None else "sink ended"
            error = f"the endpoint answered 410 Gone; {outcome}"
        else:
            error = error or f"status {result.status}"
            wait = parse_retry_after(result.retry_after, now) if result.status in (429, 503) else None
            next_at = self._policy.next_attempt(
                first_attempt=first, failed_at=started, failures=number, retry_after=wait
            )
            if next_at is None:
                status, finished = FAILED, now
                error = f"gave up {self._policy.window} after the first attempt; last: {error}"
        async with self._sessions() as session, session.begin():
            if result.status == _GONE and row.sink is None:
                await self._disable(session, target, row.id, now)
            elif result.status == _GONE and row.sink is not None:
                await self._webhooks.sink_gone(session, row.tenant_id, row.sink, now)
                await fail_pending(
                    session, row.tenant_id, "sink ended: 410 Gone", now, keep=row.id, sink=row.sink
                )
            session.add(
                WebhookAttempt(
                    delivery_id=row.id,
                    number=number,
                    attempted_at=started,
                    status_code=result.status,
                    error=result.error,
                    duration_ms=result.duration_ms,
                )
            )
            updated = await session.exec(
                OUTBOX.release(
                    self.name,
                    _DELIVERIES.c.id == row.id,
                    status=status,
                    attempts=number,
                    first_attempt_at=first,
                    last_attempt_at=started,
                    next_attempt_at=next_at or now,
                    last_error=None if status == DELIVERED else error,
                    finished_at=finished,
                )
            )
        fields: dict[str, object] = {
            "delivery_id": row.id,
            "tenant_id": row.tenant_id,
            "event_type": row.event_type,
            "attempt": number,
        }
        if updated.rowcount == 0:
            log.warning("webhook_lease_lost", **fields, worker=self.name)
        elif status == DELIVERED:
            log.info("webhook_delivered", **fields, status=result.status)
        else:
            log.info("webhook_attempt_failed", **fields, status=result.status, error=error, outcome=status)

    @staticmethod
    async def _disable(session: AsyncSession, target: Target, delivery_id: str, now: datetime) -> None:
        reason = f"the endpoint answered 410 Gone to delivery {delivery_id}"
        disabled = await session.exec(
            sa.update(WebhookEndpoint)
            .where(
                col(WebhookEndpoint.tenant_id) == target.tenant_id,
                col(WebhookEndpoint.generation) == target.generation,
                col(WebhookEndpoint.status) == ENABLED,
            )
            .values(status=DISABLED, disabled_reason=reason, disabled_at=now)
        )
        if disabled.rowcount:
            await fail_pending(
                session, target.tenant_id, "endpoint disabled: 410 Gone", now, keep=delivery_id
            )
            log.warning("webhook_endpoint_disabled", tenant_id=target.tenant_id, delivery_id=delivery_id)
