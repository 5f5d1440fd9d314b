"""The dispatch worker: sends due messages through the operators, safely from several processes.

A worker claims up to ``batch`` due messages (``queued``, ``scheduled_at`` and
``next_attempt_at`` passed) from :data:`OUTBOX`, a :class:`~gateway.leases.LeasedQueue` over
``lease_owner``/``lease_until``, so concurrent workers take disjoint sets. A claimed message is:

- past its TTL: ``expired`` if it was never tried, else ``failed`` with its last error (no send);
- otherwise submitted with ``reference`` = message id through the operators of
  :func:`~gateway.push.routing.route` (next operator only on "not my subscriber"), paced by a
  per-operator :class:`~carrier_adapters.pacing.TokenBucket` (per process) unless the operator's
  channel paces itself (``self_paced``: the binary protocols' channels, at the URL's ``tps``);
- on success marked ``submitted`` with its event, its parts and ``message.submitted``, applying
  a delivery report that arrived first;
- left ``submitted`` without a report for ``report_timeout_seconds``: ``unknown``
  (:func:`~gateway.push.reports.end_unreported`, run by :meth:`Dispatcher.sweep`);
- on an operator error retried per the worker's :class:`~gateway.retry.RetryPolicy` (equal
  jitter from ``retry_base_seconds`` up to ``retry_max_seconds``; no sooner than an open
  circuit's ``retry_after``, up to that maximum), or ``failed`` (``message.failed``) when that
  retry would fall at or after the TTL.

Outcomes are not written one message at a time: each message's
:class:`~gateway.push.settlements.Settlement` joins those of the other messages in flight and
one unit writes them together (:class:`~gateway.db.GroupCommit`,
:func:`~gateway.push.settlements.record`), so the database work per message shrinks as the rate
grows. Every write is conditional on the worker still holding the lease. A worker that stops releases
what it still holds (:meth:`Dispatcher.release_leases`), so another worker takes it at once. A
worker that dies leaves its lease to expire (``PUSH_LEASE_SECONDS``); another worker then sends
again with the same reference, which the operator deduplicates, so the recipient gets one SMS.
The remaining window for a duplicate is an operator that does not deduplicate (docs/push.md).
"""

from __future__ import annotations

import asyncio
import random
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

import sqlalchemy as sa
import structlog
from sqlalchemy import RowMapping
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import (
    CarrierError,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
    NumberNotServed,
    SmsChannel,
)
from carrier_adapters.pacing import TokenBucket
from gateway.clock import Clock
from gateway.crypto import DecryptionError, FieldCipher
from gateway.db import GroupCommit, as_utc, bound_engine, run_unit
from gateway.leases import LeasedQueue
from gateway.push.lifecycle import (
    MESSAGES,
)
from gateway.push.models import IdempotencyRecord, recipient_aad, text_aad
from gateway.push.reports import end_unreported, reconcile_early_reports
from gateway.push.routing import route
from gateway.push.settlements import Claim, Outcome, Recorded, Settlement, record
from gateway.push.states import MessageStatus
from gateway.retry import RetryPolicy
from gateway.webhooks import Publisher

__all__ = ["OUTBOX", "DispatchConfig", "Dispatcher", "failure_reason"]

log = structlog.get_logger(__name__)

_RECONCILE_EVERY = timedelta(seconds=1)
"""How often the worker looks for early reports a concurrent submission's unit did not see."""

OUTBOX = LeasedQueue(
    MESSAGES,
    owner=MESSAGES.c.lease_owner,
    until=MESSAGES.c.lease_until,
    order_by=MESSAGES.c.next_attempt_at,
    due=lambda now: (
        MESSAGES.c.status == MessageStatus.QUEUED.value,
        MESSAGES.c.scheduled_at <= now,
        MESSAGES.c.next_attempt_at <= now,
    ),
)
"""The push outbox as a leased queue: queued messages whose send time has come."""
_CLAIMED = (
    MESSAGES.c.id,
    MESSAGES.c.tenant_id,
    MESSAGES.c.operator,
    MESSAGES.c.attempts,
    MESSAGES.c.failure_reason,
    MESSAGES.c.recipient_cipher,
    MESSAGES.c.text_cipher,
    MESSAGES.c.expires_at,
)


@dataclass(frozen=True, slots=True)
class DispatchConfig:
    """Worker tuning (settings ``PUSH_*``); rates are submissions per second per operator and process."""

    poll_seconds: float = 1.0
    batch: int = 50
    concurrency: int = 32
    lease_seconds: float = 60.0
    retry_base_seconds: float = 2.0
    retry_max_seconds: float = 600.0
    send_rate: float = 50.0
    send_rates: Mapping[str, float] = field(default_factory=dict)
    fallback_operator: str | None = None
    self_paced: frozenset[str] = frozenset()
    prune_seconds: float = 600.0
    report_timeout_seconds: float = 259_200.0


def failure_reason(exc: CarrierError) -> str:
    """The ``failureReason`` of a submission error (no operator text, which may echo input)."""
    if isinstance(exc, NumberNotServed):
        return "NUMBER_NOT_SERVED"
    if isinstance(exc, CarrierTimeout):
        return "OPERATOR_TIMEOUT"
    if isinstance(exc, CarrierUnavailable):
        return "OPERATOR_UNAVAILABLE"
    if isinstance(exc, CarrierRejected):
        return "OPERATOR_REJECTED"
    return "OPERATOR_ERROR"


class Dispatcher:
    """See the module docstring; :meth:`run` is the worker loop, :meth:`dispatch_once` one round."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, SmsChannel],
        cipher: FieldCipher,
        clock: Clock,
        events: Publisher,
        config: DispatchConfig,
        worker_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._engine = bound_engine(sessions)
        self._channels = channels
        self._cipher = cipher
        self._clock = clock
        self._events = events
        self._config = config
        self.worker_id = worker_id or f"{socket.gethostname()[:40]}:{secrets.token_hex(6)}"
        self._retry = RetryPolicy(
            base=config.retry_base_seconds,
            cap=config.retry_max_seconds,
            jitter=0.5,
            rand=(rng or random.SystemRandom()).random,
        )
        self._buckets: dict[str, TokenBucket] = {}
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._last_prune: datetime | None = None
        self._last_reconcile: datetime | None = None
        self._settlements: GroupCommit[Settlement, Recorded] = GroupCommit(
            self._engine, self._record, after=self._recorded, max_items=max(config.batch, 1)
        )

    def wake(self) -> None:
        """Look for due messages now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Claim and send until :meth:`stop`, keeping up to ``concurrency`` messages in flight.

        Messages are claimed (up to ``batch`` at a time) as soon as a quarter of the room is free,
        so sending, settling and claiming overlap instead of going in rounds. A failing claim is
        logged and tried again at the next poll. After :meth:`stop` the messages in flight finish.
        """
        log.info("push_dispatch_started", worker=self.worker_id)
        running: set[asyncio.Task[None]] = set()
        refill = max(1, min(self._config.batch, self._config.concurrency) // 4)
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                limit = min(self._config.concurrency - len(running), self._config.batch)
                if (limit >= refill or not running) and await self._claim_into(running, limit) == limit:
                    continue
                await self._idle(running)
            await asyncio.gather(*running, return_exceptions=True)
        finally:
            for task in running:
                task.cancel()
        log.info("push_dispatch_stopped", worker=self.worker_id)

    async def _claim_into(self, running: set[asyncio.Task[None]], limit: int) -> int:
        try:
            claims = await self.claim(limit)
            await self._prune()
        except Exception:
            log.exception("push_dispatch_round_failed", worker=self.worker_id)
            return 0
        for claim in claims:
            task = asyncio.create_task(self._guarded(claim))
            running.add(task)
            task.add_done_callback(running.discard)
        return len(claims)

    async def _idle(self, running: set[asyncio.Task[None]]) -> None:
        """Wait for a message in flight to finish, a wake-up, or the poll interval."""
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait(
                {woken, *running}, timeout=self._config.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            woken.cancel()

    def stop(self) -> None:
        """Stop claiming; sends in flight finish, claimed messages not yet started are released."""
        self._stopping.set()
        self._wake.set()

    async def release_leases(self) -> int:
        """Give back every queued message this worker still leases (after :meth:`stop`); how many.

        A send cancelled mid-flight may have reached the operator: the next worker sends it again
        with the same reference, which the operator deduplicates.
        """
        released = await run_unit(self._engine, self._release_all)
        if released:
            log.info("push_leases_released", worker=self.worker_id, messages=released)
        return released

    def _release_all(self, conn: Connection) -> int:
        result = conn.execute(OUTBOX.release(self.worker_id, MESSAGES.c.status == MessageStatus.QUEUED.value))
        return int(result.rowcount or 0)

    async def dispatch_once(self) -> int:
        """Claim one batch of due messages and process them; returns how many were claimed."""
        claims = await self.claim(self._config.batch)
        if claims:
            gate = asyncio.Semaphore(self._config.concurrency)

            async def guarded(claim: Claim) -> None:
                async with gate:
                    await self._guarded(claim)

            await asyncio.gather(*(guarded(c) for c in claims))
        return len(claims)

    async def claim(self, limit: int) -> list[Claim]:
        """Lease up to ``limit`` due messages to this worker (see the module docstring)."""
        now = self._clock.now()
        until = now + timedelta(seconds=self._config.lease_seconds)
        rows = await OUTBOX.claim(
            self._engine, owner=self.worker_id, now=now, until=until, limit=limit, columns=_CLAIMED
        )
        return [_claim(row, until) for row in rows]

    async def _guarded(self, claim: Claim) -> None:
        try:
            await self._process(claim)
        except Exception:
            log.exception("push_dispatch_message_failed", message_id=claim.id)
            retry_at = self._clock.now() + timedelta(seconds=self._retry.base)
            await self._settle(Settlement(claim, Outcome.RELEASE, self._clock.now(), retry_at=retry_at))

    async def _process(self, claim: Claim) -> None:
        settlement = await self._attempt(claim)
        if settlement is None:
            return
        if not await self._settle(settlement):
            log.warning("push_lease_lost", message_id=claim.id, step=settlement.outcome.value)
            return
        if settlement.outcome is Outcome.SUBMITTED:
            log.info(
                "push_message_submitted",
                message_id=claim.id,
                operator=settlement.operator,
                attempt=claim.attempts + 1,
            )
        elif settlement.outcome is Outcome.FAILED:
            log.info("push_message_failed", message_id=claim.id, reason=settlement.reason)
        elif settlement.outcome is Outcome.EXPIRED:
            log.info("push_message_expired", message_id=claim.id)

    async def _attempt(self, claim: Claim) -> Settlement | None:
        """Send ``claim`` (or not) and say what became of it; ``None`` when its lease ran out."""
        now = self._clock.now()
        if now >= claim.expires_at:
            if claim.attempts == 0:
                return Settlement(claim, Outcome.EXPIRED, now)
            return Settlement(claim, Outcome.FAILED, now, reason=claim.failure_reason or "EXPIRED")
        if self._stopping.is_set():
            return Settlement(claim, Outcome.RELEASE, now)
        try:
            recipient = self._cipher.decrypt(
                claim.recipient_cipher, aad=recipient_aad(claim.tenant_id, claim.id)
            )
            text = self._cipher.decrypt(claim.text_cipher, aad=text_aad(claim.tenant_id, claim.id))
        except DecryptionError:
            log.error("push_message_undecryptable", message_id=claim.id)
            return Settlement(claim, Outcome.FAILED, self._clock.now(), reason="UNDECRYPTABLE")
        operators = route(recipient, self._channels.keys(), fallback=self._config.fallback_operator)
        if claim.operator in operators:
            operators = operators[operators.index(claim.operator) :]
        for operator in operators:
            if operator not in self._config.self_paced:
                await self._bucket(operator).acquire()
            if self._clock.now() >= claim.lease_until:
                log.warning("push_lease_expired_before_send", message_id=claim.id)
                return None
            try:
                submission = await self._channels[operator].submit_sms(recipient, text, reference=claim.id)
            except NumberNotServed:
                log.info("push_number_not_served", message_id=claim.id, operator=operator)
                continue
            except CarrierError as exc:
                return self._retry_later(claim, operator, exc)
            return Settlement(
                claim, Outcome.SUBMITTED, self._clock.now(), operator=operator, submission=submission
            )
        reason = "NUMBER_NOT_SERVED" if operators else "NO_ROUTE"
        return Settlement(claim, Outcome.FAILED, self._clock.now(), reason=reason)

    def _bucket(self, operator: str) -> TokenBucket:
        bucket = self._buckets.get(operator)
        if bucket is None:
            rate = self._config.send_rates.get(operator, self._config.send_rate)
            bucket = self._buckets[operator] = TokenBucket(rate)
        return bucket

    def _retry_later(self, claim: Claim, operator: str, exc: CarrierError) -> Settlement:
        now = self._clock.now()
        reason = failure_reason(exc)
        attempts = claim.attempts + 1
        retry_after = exc.retry_after if isinstance(exc, CarrierUnavailable) else None
        retry_at = self._retry.next_attempt(failed_at=now, failures=attempts, retry_after=retry_after)
        log.warning(
            "push_submit_failed", message_id=claim.id, operator=operator, error=reason, attempt=attempts
        )
        if retry_at is None or retry_at >= claim.expires_at:
            return Settlement(claim, Outcome.FAILED, now, reason=reason, attempts=attempts)
        return Settlement(claim, Outcome.RETRY, now, reason=reason, attempts=attempts, retry_at=retry_at)

    async def _settle(self, settlement: Settlement) -> bool:
        """Write ``settlement`` with whatever other messages' settlements are waiting; whether it applied."""
        recorded = await self._settlements.add([settlement])
        return settlement.claim.id in recorded.moved

    def _record(self, conn: Connection, settlements: list[Settlement]) -> Recorded:
        return record(conn, settlements, worker=self.worker_id, now=self._clock.now(), events=self._events)

    def _recorded(self, recorded: Recorded) -> None:
        if recorded.published:
            self._events.on_publish()

    async def _prune(self) -> None:
        now = self._clock.now()
        if self._last_reconcile is None or now - self._last_reconcile >= _RECONCILE_EVERY:
            self._last_reconcile = now
            await self._reconcile(now)
        every = timedelta(seconds=self._config.prune_seconds)
        if self._last_prune is not None and now - self._last_prune < every:
            return
        self._last_prune = now
        await self.sweep()

    async def _reconcile(self, now: datetime) -> None:
        """Apply early reports whose submission a concurrent unit stored (see ``reconcile_early_reports``)."""
        timeout = timedelta(seconds=self._config.report_timeout_seconds)
        applied = await run_unit(
            self._engine, partial(reconcile_early_reports, now=now, timeout=timeout, events=self._events)
        )
        if applied:
            self._events.on_publish()
            log.info("push_early_reports_applied", reports=applied)

    async def sweep(self) -> int:
        """Drop expired idempotency records, apply early reports whose submission is stored by now,
        and end messages left without a report; how many ended.

        The worker loop does this every ``prune_seconds``.
        """
        now = self._clock.now()
        table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
        expired = sa.delete(table).where(table.c.expires_at < now)
        await run_unit(self._engine, lambda conn: conn.execute(expired))
        await self._reconcile(now)
        timeout = timedelta(seconds=self._config.report_timeout_seconds)
        ended = await run_unit(
            self._engine, partial(end_unreported, now=now, timeout=timeout, events=self._events)
        )
        if ended:
            self._events.on_publish()
            log.info("push_reports_timed_out", messages=ended)
        return ended


def _claim(row: RowMapping, until: datetime) -> Claim:
    expires_at: datetime = as_utc(row["expires_at"]) or row["expires_at"]
    return Claim(
        id=row["id"],
        tenant_id=row["tenant_id"],
        operator=row["operator"],
        attempts=row["attempts"],
        failure_reason=row["failure_reason"],
        recipient_cipher=row["recipient_cipher"],
        text_cipher=row["text_cipher"],
        expires_at=expires_at,
        lease_until=until,
    )
