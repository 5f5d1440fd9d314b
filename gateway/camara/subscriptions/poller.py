"""The poller: reads the SIM history of subscribed lines and turns new changes into notifications.

Every gateway process runs one. A round claims up to ``batch`` due ACTIVE subscriptions
(``next_poll_at`` passed) from :data:`SUBSCRIPTIONS`, a :class:`~gateway.leases.LeasedQueue` over
``lease_owner``/``lease_expires_at``, like the webhook and push workers. So one process polls one
subscription at a time.

For the claimed subscriptions, each (operator, number) is asked once
(:meth:`~carrier_adapters.LineInsight.sim_history`, at most ``concurrency`` calls in flight); the
answer goes through :func:`~gateway.camara.subscriptions.lifecycle.observe`. The new state, the
next poll time and the notifications (sink deliveries in the webhook outbox) are written in one
transaction whose ``UPDATE`` only applies while this process still holds the lease and the
subscription is still ACTIVE; otherwise nothing is written and nothing is sent. A notification
therefore exists exactly once per change, whichever process saw it, and a deletion racing a poll
wins cleanly. A process that dies mid-round leaves its leases to expire and another process
polls those subscriptions again (their ``last_seen_change`` unchanged, so nothing is lost or
doubled).

An operator that does not answer usefully (down, timeout, the number no longer served or no
longer eligible) produces no event; the subscription is polled again after the interval and
still ends on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import CarrierError, LineInsight, SwapHistory
from gateway.camara.subscriptions import lifecycle
from gateway.camara.subscriptions.lifecycle import Status
from gateway.camara.subscriptions.models import SimSwapSubscription
from gateway.camara.subscriptions.service import SubscriptionService, standing_of
from gateway.clock import Clock
from gateway.crypto import DecryptionError
from gateway.db import bound_engine
from gateway.leases import LeasedQueue

__all__ = ["SUBSCRIPTIONS", "SwapPoller"]

log = structlog.get_logger(__name__)
_TABLE: sa.Table = SimSwapSubscription.__table__  # type: ignore[attr-defined]

SUBSCRIPTIONS = LeasedQueue(
    _TABLE,
    owner=_TABLE.c.lease_owner,
    until=_TABLE.c.lease_expires_at,
    order_by=_TABLE.c.next_poll_at,
    due=lambda now: (_TABLE.c.status == Status.ACTIVE.value, _TABLE.c.next_poll_at <= now),
)
"""Subscriptions as a leased queue: ACTIVE ones whose next poll is due."""


@dataclass(frozen=True, slots=True)
class _Answer:
    latest_change: datetime | None
    known: bool


def _worker_name() -> str:
    return f"{socket.gethostname()[:30]}:{secrets.token_hex(6)}"


class SwapPoller:
    """See the module docstring. :meth:`poll_once` is one round (tests drive it); :meth:`run` loops
    every ``tick`` seconds (at most the poll interval) until :meth:`stop`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        service: SubscriptionService,
        operators: Mapping[str, LineInsight],
        clock: Clock,
        interval: timedelta,
        batch: int = 100,
        concurrency: int = 8,
        lease: timedelta = timedelta(seconds=60),
        name: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._engine = bound_engine(sessions)
        self._service = service
        self._operators = operators
        self._clock = clock
        self._interval = interval
        self._batch = batch
        self._concurrency = concurrency
        self._lease = lease
        self.name = name or _worker_name()
        self._tick = min(interval.total_seconds(), 1.0)
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Poll until :meth:`stop`; a failing round is logged and retried at the next tick."""
        while not self._stopping.is_set():
            claimed = 0
            try:
                claimed = await self.poll_once()
            except Exception:
                log.exception("sim_swap_poll_round_failed", worker=self.name)
            if claimed < self._batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=self._tick)

    def stop(self) -> None:
        """Stop after the current round."""
        self._stopping.set()

    async def poll_once(self) -> int:
        """Claim one batch of due subscriptions, poll their lines and record the outcomes."""
        rows = await self._claim()
        if not rows:
            return 0
        lines: dict[tuple[str, str], list[SimSwapSubscription]] = {}
        now = self._clock.now()
        for row in rows:
            try:
                number = self._service.phone_number(row)
            except DecryptionError:
                log.error("sim_swap_subscription_undecryptable", subscription_id=row.id)
                await self._settle(row, lifecycle.Outcome(standing_of(row)), now, number=None)
                continue
            lines.setdefault((row.operator, number), []).append(row)
        gate = asyncio.Semaphore(self._concurrency)

        async def poll(operator: str, number: str, subscribed: list[SimSwapSubscription]) -> None:
            async with gate:
                answer = await self._ask(operator, number)
            at = self._clock.now()
            for row in subscribed:
                outcome = lifecycle.observe(standing_of(row), at, answer.latest_change, known=answer.known)
                await self._settle(row, outcome, at, number=number)

        await asyncio.gather(*(poll(op, number, subs) for (op, number), subs in lines.items()))
        return len(rows)

    async def _claim(self) -> list[SimSwapSubscription]:
        now = self._clock.now()
        rows = await SUBSCRIPTIONS.claim(
            self._engine,
            owner=self.name,
            now=now,
            until=now + self._lease,
            limit=self._batch,
            columns=tuple(_TABLE.columns),
        )
        return [SimSwapSubscription.model_validate(dict(r)) for r in rows]

    async def _ask(self, operator: str, number: str) -> _Answer:
        insight = self._operators.get(operator)
        if insight is None:
            log.warning("sim_swap_poll_operator_missing", operator=operator)
            return _Answer(None, known=False)
        try:
            history: SwapHistory = await insight.sim_history(number)
        except CarrierError as exc:
            log.warning(
                "operator_call_failed",
                operator=exc.operator,
                action="sim_swap_poll",
                error=type(exc).__name__,
                result_code=exc.code,
            )
            return _Answer(None, known=False)
        changed = history.latest_change
        if changed is not None and changed.tzinfo is None:
            changed = changed.replace(tzinfo=UTC)
        return _Answer(changed, known=True)

    async def _settle(
        self, row: SimSwapSubscription, outcome: lifecycle.Outcome, now: datetime, *, number: str | None
    ) -> None:
        after = outcome.standing
        values: dict[str, object] = {
            "status": after.status.value,
            "events_sent": after.events_sent,
            "last_seen_change": after.last_seen,
            "next_poll_at": lifecycle.next_poll(after, now, self._interval),
            "updated_at": now,
        }
        if outcome.termination is not None:
            values.update(termination_reason=outcome.termination.value, ended_at=now)
        try:
            async with self._sessions() as session, session.begin():
                updated = await session.exec(
                    SUBSCRIPTIONS.release(
                        self.name,
                        _TABLE.c.id == row.id,
                        _TABLE.c.status == Status.ACTIVE.value,
                        **values,
                    )
                )
                if updated.rowcount:
                    for notice in outcome.notices:
                        await self._service.publish(session, row, notice, phone_number=number)
        except Exception:
            log.exception("sim_swap_poll_settle_failed", subscription_id=row.id)
            return
        if not updated.rowcount:
            log.warning("sim_swap_poll_lease_lost", subscription_id=row.id, worker=self.name)
        elif outcome.termination is not None:
            log.info("sim_swap_subscription_ended", subscription_id=row.id, reason=outcome.termination.value)
