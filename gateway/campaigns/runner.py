"""The campaign runner: turns a running campaign's recipients into push messages at its rate.

It runs beside the push dispatch worker (in every process where ``PUSH_DISPATCH_WORKER`` is on).
A runner claims due campaigns (``running``, or ``scheduled`` whose ``scheduledAt`` has come) from
:data:`QUEUE`, a :class:`~gateway.leases.LeasedQueue` over the campaign's lease, so one process at
a time drives a campaign and two processes never take the same recipient. For each campaign, in
rounds paced to its ``rate``:

1. **Take** (one unit): renew the lease, only while the campaign is still ``running`` and still
   this runner's (so a pause or a cancel that committed first stops it here, and a runner whose
   lease ran out writes nothing); then mark the next recipients ``sending`` in ``seq`` order, first
   any a dead runner left ``sending``. None left: the campaign is ``completed`` and
   ``campaign.completed`` is staged in that unit.
2. **Send**: each through :meth:`PushService.send <gateway.push.service.PushService.send>`, the path
   of a single ``POST /push/v1/messages`` (template, fraud controls, opt-outs, quiet hours, budget,
   bound link), with the ``Idempotency-Key`` ``campaign:<campaign id>:<seq>``: a recipient sent
   again after a crash (its runner died between the send and step 3) gets the first answer again,
   so each recipient becomes exactly one message while the key is kept (24 h).
3. **Record** (one unit): each recipient ``sent`` with its message id, or ``refused`` with the
   error code a single message would have answered (``INVALID_PHONE_NUMBER``,
   ``RECIPIENT_OPTED_OUT``, ``TOO_MANY_REQUESTS`` for a full velocity window, ...); a spent daily
   budget (``QUOTA_EXCEEDED``) or a failure of the gateway's own stores puts the recipient back
   ``pending`` and the campaign waits (``next_run_at``: the budget's ``Retry-After``, or
   :attr:`RunnerConfig.retry_seconds`) with its lease given back. At most every
   :attr:`RunnerConfig.progress_seconds` the unit also stages ``campaign.progress``.

A cancel stops a campaign at the next take: recipients already taken (at most one round, about a
second of the rate) are sent; every other one is ``cancelled`` by the cancel itself. A stopping
runner finishes its rounds in flight and gives its leases back.
"""

from __future__ import annotations

import asyncio
import json
import math
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Protocol, TypeVar

import sqlalchemy as sa
import structlog
from sqlalchemy import RowMapping
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.campaigns.models import idempotency_key, recipient_aad
from gateway.campaigns.service import CAMPAIGNS, RECIPIENTS, counts_of
from gateway.campaigns.states import CampaignStatus, RecipientState
from gateway.clock import Clock
from gateway.crypto import DecryptionError, FieldCipher
from gateway.db import as_utc, run_unit
from gateway.errors import ApiError, QuotaExceeded, Unavailable
from gateway.leases import LeasedQueue
from gateway.push.service import Accepted, SendRequest
from gateway.webhooks import Publisher

__all__ = ["QUEUE", "CampaignRunner", "MessageSender", "RunnerConfig", "idempotency_key"]

log = structlog.get_logger(__name__)
_T = TypeVar("_T")

QUEUE = LeasedQueue(
    CAMPAIGNS,
    owner=CAMPAIGNS.c.lease_owner,
    until=CAMPAIGNS.c.lease_until,
    order_by=CAMPAIGNS.c.next_run_at,
    due=lambda now: (
        CAMPAIGNS.c.status.in_([CampaignStatus.RUNNING.value, CampaignStatus.SCHEDULED.value]),
        CAMPAIGNS.c.next_run_at <= now,
    ),
)
"""Campaigns as a leased queue: running or scheduled ones whose time has come."""
_CLAIMED = (
    CAMPAIGNS.c.id,
    CAMPAIGNS.c.tenant_id,
    CAMPAIGNS.c.template_id,
    CAMPAIGNS.c.status,
    CAMPAIGNS.c.rate,
)


class MessageSender(Protocol):
    """The single-message path (:class:`~gateway.push.service.PushService`)."""

    async def send(self, *, tenant_id: str, request: SendRequest, idempotency_key: str | None) -> Accepted:
        """Accept one SMS for sending."""
        ...


@dataclass(frozen=True, slots=True)
class RunnerConfig:
    """Runner tuning: campaigns driven at once per process, sends in flight per campaign, seconds of
    the rate per round (at most ``max_batch`` recipients), lease, poll and wait times."""

    poll_seconds: float = 1.0
    lease_seconds: float = 60.0
    campaigns: int = 4
    concurrency: int = 64
    round_seconds: float = 0.5
    max_batch: int = 500
    progress_seconds: float = 10.0
    retry_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class _Outcome:
    seq: int
    state: RecipientState
    message_id: str | None = None
    reason: str | None = None
    retry_after: float | None = None


class _Lost(Exception):
    """The campaign is no longer this runner's to drive (paused, cancelled, lease gone)."""


class CampaignRunner:
    """See the module docstring; :meth:`run` is the loop, :meth:`drive_once` one campaign's rounds."""

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        sender: MessageSender,
        cipher: FieldCipher,
        events: Publisher,
        clock: Clock,
        config: RunnerConfig,
        worker_id: str | None = None,
    ) -> None:
        self._engine = engine
        self._sender = sender
        self._cipher = cipher
        self._events = events
        self._clock = clock
        self._config = config
        self.worker_id = worker_id or f"{socket.gethostname()[:40]}:{secrets.token_hex(6)}"
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        """Look for due campaigns now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Claim nothing more; campaigns in flight end after their current round."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        """Claim and drive due campaigns until :meth:`stop` (then give the leases back)."""
        running: set[asyncio.Task[None]] = set()
        log.info("campaign_runner_started", worker=self.worker_id)
        try:
            while not self._stopping.is_set():
                self._wake.clear()
                room = self._config.campaigns - len(running)
                if room > 0:
                    for row in await self._claim(room):
                        task = asyncio.create_task(self.drive(row), name=f"campaign-{row['id']}")
                        running.add(task)
                        task.add_done_callback(running.discard)
                        task.add_done_callback(lambda _task: self._wake.set())
                waiting = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait({waiting}, timeout=self._config.poll_seconds)
                waiting.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        finally:
            for task in running:
                task.cancel()
            await self.release_leases()
        log.info("campaign_runner_stopped", worker=self.worker_id)

    async def _claim(self, limit: int) -> list[RowMapping]:
        now = self._clock.now()
        try:
            return await QUEUE.claim(
                self._engine,
                owner=self.worker_id,
                now=now,
                until=now + timedelta(seconds=self._config.lease_seconds),
                limit=limit,
                columns=_CLAIMED,
            )
        except Exception:
            log.exception("campaign_claim_failed")
            return []

    async def drive_once(self) -> int:
        """Claim due campaigns and drive each to its end (or until it waits); how many were claimed."""
        rows = await self._claim(self._config.campaigns)
        await asyncio.gather(*(self.drive(row) for row in rows))
        return len(rows)

    async def release_leases(self) -> None:
        """Give back every campaign this runner still leases."""
        await run_unit(
            self._engine,
            lambda conn: conn.execute(QUEUE.release(self.worker_id, CAMPAIGNS.c.id.is_not(None))),
        )

    async def drive(self, campaign: RowMapping) -> None:
        """Run ``campaign``'s rounds until it ends, waits, is paused or cancelled, or the runner stops."""
        campaign_id = str(campaign["id"])
        size = max(1, min(self._config.max_batch, math.ceil(campaign["rate"] * self._config.round_seconds)))
        loop = asyncio.get_running_loop()
        try:
            if campaign["status"] == CampaignStatus.SCHEDULED.value:
                await self._unit(lambda conn, staged: self._begin(conn, staged, campaign))
            while not self._stopping.is_set():
                began = loop.time()
                taken = await self._unit(lambda conn, staged: self._take(conn, staged, campaign, size))
                if not taken:
                    return
                outcomes = await self._send_all(campaign, taken)
                if await self._unit(partial(self._record, campaign=campaign, outcomes=outcomes)):
                    return
                pause = began + len(taken) / campaign["rate"] - loop.time()
                if pause > 0:
                    await asyncio.sleep(pause)
        except _Lost:
            await self._give_back(campaign_id)
        except Exception:
            log.exception("campaign_round_failed", campaign_id=campaign_id)
            await self._wait(campaign_id, self._config.retry_seconds)
        finally:
            if self._stopping.is_set():
                await self._give_back(campaign_id)

    async def _unit(self, work: Callable[[Connection, list[str | None]], _T]) -> _T:
        """``work(conn, staged)`` in one unit; the delivery worker is told if it staged a webhook."""
        staged: list[str | None] = []
        result = await run_unit(self._engine, lambda conn: work(conn, staged))
        if any(item is not None for item in staged):
            self._events.on_publish()
        return result

    def _publish(
        self,
        conn: Connection,
        staged: list[str | None],
        campaign: RowMapping,
        event: str,
        status: CampaignStatus,
    ) -> None:
        data = {
            "campaignId": campaign["id"],
            "status": status.value,
            "recipients": counts_of(conn, campaign["id"]),
        }
        staged.append(self._events.stage(conn, tenant_id=campaign["tenant_id"], event_type=event, data=data))

    def _mine(self, campaign_id: str) -> tuple[sa.ColumnElement[bool], ...]:
        return (CAMPAIGNS.c.id == campaign_id, CAMPAIGNS.c.lease_owner == self.worker_id)

    def _begin(self, conn: Connection, staged: list[str | None], campaign: RowMapping) -> None:
        """A scheduled campaign whose time came starts: ``running``, ``campaign.started`` once."""
        now = self._clock.now()
        row = conn.execute(
            sa.update(CAMPAIGNS)
            .where(*self._mine(campaign["id"]), CAMPAIGNS.c.status == CampaignStatus.SCHEDULED.value)
            .values(status=CampaignStatus.RUNNING.value, updated_at=now)
            .returning(CAMPAIGNS.c.started_at)
        ).first()
        if row is None:
            raise _Lost()
        if row.started_at is None:
            conn.execute(sa.update(CAMPAIGNS).where(CAMPAIGNS.c.id == campaign["id"]).values(started_at=now))
            self._publish(conn, staged, campaign, "campaign.started", CampaignStatus.RUNNING)

    def _take(
        self, conn: Connection, staged: list[str | None], campaign: RowMapping, size: int
    ) -> list[RowMapping]:
        """The round's recipients, marked ``sending``; none: the campaign ended (or is not ours)."""
        campaign_id = campaign["id"]
        now = self._clock.now()
        held = conn.execute(
            sa.update(CAMPAIGNS)
            .where(*self._mine(campaign_id), CAMPAIGNS.c.status == CampaignStatus.RUNNING.value)
            .values(lease_until=now + timedelta(seconds=self._config.lease_seconds))
        ).rowcount
        if not held:
            conn.execute(QUEUE.release(self.worker_id, CAMPAIGNS.c.id == campaign_id))
            return []
        columns = (RECIPIENTS.c.seq, RECIPIENTS.c.phone_index, RECIPIENTS.c.recipient_cipher)
        for state in (RecipientState.SENDING, RecipientState.PENDING):
            taken = list(
                conn.execute(
                    sa.select(*columns)
                    .where(RECIPIENTS.c.campaign_id == campaign_id, RECIPIENTS.c.state == state.value)
                    .order_by(RECIPIENTS.c.seq)
                    .limit(size)
                ).mappings()
            )
            if taken:
                if state is RecipientState.PENDING:
                    conn.execute(
                        sa.update(RECIPIENTS)
                        .where(
                            RECIPIENTS.c.campaign_id == campaign_id,
                            RECIPIENTS.c.seq.in_([row["seq"] for row in taken]),
                        )
                        .values(state=RecipientState.SENDING.value)
                    )
                return taken
        conn.execute(
            QUEUE.release(self.worker_id, CAMPAIGNS.c.id == campaign_id).values(
                status=CampaignStatus.COMPLETED.value, ended_at=now, updated_at=now
            )
        )
        self._publish(conn, staged, campaign, "campaign.completed", CampaignStatus.COMPLETED)
        log.info("campaign_completed", campaign_id=campaign_id)
        return []

    async def _send_all(self, campaign: RowMapping, taken: Sequence[RowMapping]) -> list[_Outcome]:
        gate = asyncio.Semaphore(self._config.concurrency)

        async def one(row: RowMapping) -> _Outcome:
            async with gate:
                return await self._send(campaign, row)

        return list(await asyncio.gather(*(one(row) for row in taken)))

    async def _send(self, campaign: RowMapping, row: RowMapping) -> _Outcome:
        seq = int(row["seq"])
        try:
            plain = self._cipher.decrypt(
                row["recipient_cipher"],
                aad=recipient_aad(campaign["tenant_id"], campaign["id"], row["phone_index"]),
            )
        except DecryptionError:
            log.error("campaign_recipient_undecryptable", campaign_id=campaign["id"], seq=seq)
            return _Outcome(seq, RecipientState.REFUSED, reason="UNDECRYPTABLE")
        recipient = json.loads(plain)
        canonical = {
            "templateId": campaign["template_id"],
            "to": recipient["to"],
            "params": recipient["params"],
        }
        request = SendRequest(
            template_id=campaign["template_id"],
            to=recipient["to"],
            params=recipient["params"],
            ttl_seconds=None,
            canonical=canonical,
        )
        try:
            accepted = await self._sender.send(
                tenant_id=campaign["tenant_id"],
                request=request,
                idempotency_key=idempotency_key(campaign["id"], seq),
            )
        except QuotaExceeded as exc:
            return _Outcome(
                seq, RecipientState.PENDING, retry_after=_retry_after(exc, self._config.retry_seconds)
            )
        except Unavailable:
            return _Outcome(seq, RecipientState.PENDING, retry_after=self._config.retry_seconds)
        except ApiError as exc:
            return _Outcome(seq, RecipientState.REFUSED, reason=exc.code)
        except Exception:
            log.exception("campaign_send_failed", campaign_id=campaign["id"], seq=seq)
            return _Outcome(seq, RecipientState.PENDING, retry_after=self._config.retry_seconds)
        return _Outcome(seq, RecipientState.SENT, message_id=str(accepted.body["id"]))

    def _record(
        self,
        conn: Connection,
        staged: list[str | None],
        *,
        campaign: RowMapping,
        outcomes: Sequence[_Outcome],
    ) -> bool:
        """Store the round's outcomes; whether the campaign now waits (lease given back)."""
        campaign_id = campaign["id"]
        now = self._clock.now()
        conn.execute(
            sa.update(RECIPIENTS)
            .where(
                RECIPIENTS.c.campaign_id == campaign_id,
                RECIPIENTS.c.seq == sa.bindparam("b_seq"),
                RECIPIENTS.c.state == RecipientState.SENDING.value,
            )
            .values(
                state=sa.bindparam("b_state"),
                message_id=sa.bindparam("b_message"),
                reason=sa.bindparam("b_reason"),
            ),
            [
                {"b_seq": o.seq, "b_state": o.state.value, "b_message": o.message_id, "b_reason": o.reason}
                for o in outcomes
            ],
        )
        waits = [o.retry_after for o in outcomes if o.retry_after is not None]
        if waits:
            conn.execute(
                QUEUE.release(self.worker_id, CAMPAIGNS.c.id == campaign_id).values(
                    next_run_at=now + timedelta(seconds=max(waits)), updated_at=now
                )
            )
            log.info("campaign_waits", campaign_id=campaign_id, seconds=max(waits))
            return True
        last = as_utc(
            conn.execute(sa.select(CAMPAIGNS.c.progress_at).where(CAMPAIGNS.c.id == campaign_id)).scalar()
        )
        if last is None or (now - last).total_seconds() >= self._config.progress_seconds:
            moved = conn.execute(
                sa.update(CAMPAIGNS)
                .where(*self._mine(campaign_id), CAMPAIGNS.c.status == CampaignStatus.RUNNING.value)
                .values(progress_at=now)
            ).rowcount
            if moved:
                self._publish(conn, staged, campaign, "campaign.progress", CampaignStatus.RUNNING)
        return False

    async def _wait(self, campaign_id: str, seconds: float) -> None:
        now = self._clock.now()
        try:
            await run_unit(
                self._engine,
                lambda conn: conn.execute(
                    QUEUE.release(self.worker_id, CAMPAIGNS.c.id == campaign_id).values(
                        next_run_at=now + timedelta(seconds=seconds)
                    )
                ),
            )
        except Exception:
            log.exception("campaign_release_failed", campaign_id=campaign_id)

    async def _give_back(self, campaign_id: str) -> None:
        try:
            await run_unit(
                self._engine,
                lambda conn: conn.execute(QUEUE.release(self.worker_id, CAMPAIGNS.c.id == campaign_id)),
            )
        except Exception:
            log.exception("campaign_release_failed", campaign_id=campaign_id)


def _retry_after(exc: ApiError, default: float) -> float:
    value = exc.headers.get("Retry-After")
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default
