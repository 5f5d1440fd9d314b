"""Operator callbacks (``POST /operator-callbacks/{operator}``): delivery reports and replies.

The operator's :meth:`~carrier_adapters.SmsCallbacks.parse_callback` authenticates the raw body
(a bad signature is ``401``) and decodes it. Then, synchronously, so a failure answers 5xx and
the operator sends it again:

- A delivery report names our message by ``reference`` (= message id) and is applied per
  :mod:`gateway.push.states`: once (an event with its ``dedupe_key`` = operator, provider id, status
  word and time; a repeat is a no-op), in order (one that arrives before the submission committed
  is kept and applied by the submission), never changing a final state (recorded as ``report``).
  A report for an unknown reference is ignored.
- A reply ``T``/``TD``/``R`` (:mod:`gateway.push.optout`) opts the number out of the marketing
  templates of one tenant's signature: the tenant and signature of the message the reply names
  by ``reference`` (when its recipient is that number), else of the latest message that operator
  accepted for that number, across tenants (each tenant's blind index is computed in turn). The
  opt-out is stored by blind index, never the number. Other replies are not stored.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from carrier_adapters import CarrierError, CarrierRejected, DeliveryReport, MobileOriginated, SmsCallbacks
from gateway.clock import Clock
from gateway.crypto import BlindIndex
from gateway.db import as_utc, bound_engine, run_unit
from gateway.errors import InvalidArgument, NotFound, Unauthenticated
from gateway.one_tap.service import phone_scope
from gateway.push.lifecycle import EVENTS, MESSAGES, REPORT, add_event, apply_report, record_event
from gateway.push.models import OptOut, PushMessage
from gateway.push.optout import is_opt_out
from gateway.push.states import MessageStatus, step_for_report
from gateway.webhooks import Publisher

__all__ = ["CallbackOutcome", "CallbackProcessor"]

log = structlog.get_logger(__name__)
_CAS_ATTEMPTS = 5


def _is_uuid(value: str | None) -> bool:
    if not value:
        return False
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class CallbackOutcome:
    """What one callback did, per item: ``applied``, ``deferred``, ``late``, ``duplicate``, ``unknown``,
    ``opted_out``, ``already_opted_out``, ``ignored``, ``no_message``."""

    outcomes: tuple[str, ...]


class CallbackProcessor:
    """See the module docstring."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        channels: Mapping[str, SmsCallbacks],
        index: BlindIndex,
        clock: Clock,
        events: Publisher,
    ) -> None:
        self._sessions = sessions
        self._engine = bound_engine(sessions)
        self._channels = channels
        self._index = index
        self._clock = clock
        self._events = events

    async def receive(self, operator: str, body: bytes, headers: Mapping[str, str]) -> CallbackOutcome:
        """Authenticate, decode and apply one callback of ``operator``.

        :raises NotFound: no SMS channel is configured for ``operator``.
        :raises Unauthenticated: the operator's signature does not verify.
        :raises InvalidArgument: the body is not the operator's callback format.
        """
        channel = self._channels.get(operator)
        if channel is None:
            raise NotFound()
        try:
            items = channel.parse_callback(body, headers)
        except CarrierRejected as exc:
            log.warning("push_callback_rejected", operator=operator, error=exc.message)
            raise Unauthenticated() from exc
        except CarrierError as exc:
            log.warning("push_callback_malformed", operator=operator, error=type(exc).__name__)
            raise InvalidArgument("The callback is not in the operator's format.") from exc
        outcomes = []
        for item in items:
            if item.operator != operator:
                log.warning("push_callback_foreign_item", operator=operator, claimed=item.operator)
                outcomes.append("unknown")
            elif isinstance(item, DeliveryReport):
                outcomes.append(await self.apply_report(item))
            else:
                outcomes.append(await self.apply_reply(item))
        return CallbackOutcome(tuple(outcomes))

    async def apply_report(self, report: DeliveryReport) -> str:
        """Apply one delivery report; returns its outcome (see :class:`CallbackOutcome`)."""
        if not _is_uuid(report.reference):
            log.info("push_report_unknown_reference", operator=report.operator)
            return "unknown"
        dedupe = "|".join((report.operator, report.provider_message_id, report.status, report.at.isoformat()))
        dedupe = dedupe[:200]
        for _ in range(_CAS_ATTEMPTS):
            try:
                outcome = await self._apply_report_once(report, dedupe)
            except IntegrityError:
                outcome = "duplicate"
            if outcome is not None:
                log.info("push_report", message_id=report.reference, outcome=outcome, status=report.status)
                return outcome
        raise RuntimeError("delivery report kept losing the race on its message")

    async def _apply_report_once(self, report: DeliveryReport, dedupe: str) -> str | None:
        outcome, published = await run_unit(
            self._engine, partial(self._apply_report_unit, report, dedupe, self._clock.now())
        )
        if published:
            self._events.on_publish()
        return outcome

    def _apply_report_unit(
        self, report: DeliveryReport, dedupe: str, now: datetime, conn: Connection
    ) -> tuple[str | None, bool]:
        """One attempt in one unit of work: (outcome, or None to retry after a lost race; published)."""
        seen = sa.exists().where(EVENTS.c.message_id == MESSAGES.c.id, EVENTS.c.dedupe_key == dedupe)
        message = conn.execute(
            sa.select(
                MESSAGES.c.id,
                MESSAGES.c.tenant_id,
                MESSAGES.c.operator,
                MESSAGES.c.status,
                MESSAGES.c.updated_at,
                seen.label("seen"),
            ).where(MESSAGES.c.id == report.reference)
        ).first()
        if message is None:
            return "unknown", False
        if message.seen:
            return "duplicate", False
        status = MessageStatus(message.status)
        if status is MessageStatus.SUBMITTED:
            if message.operator != report.operator:
                log.warning("push_report_from_other_operator", message_id=message.id)
                return "unknown", False
            applied = apply_report(
                conn,
                message_id=message.id,
                tenant_id=message.tenant_id,
                operator=message.operator,
                step=step_for_report(status, report.state),
                detail=report.status,
                submitted_at=as_utc(message.updated_at) or now,
                now=now,
                events=self._events,
                dedupe_key=dedupe,
            )
            return ("applied" if applied.moved else None), applied.published
        if status is MessageStatus.QUEUED:
            still_queued = conn.execute(
                sa.update(MESSAGES)
                .where(MESSAGES.c.id == message.id, MESSAGES.c.status == MessageStatus.QUEUED.value)
                .values(updated_at=now)
            )
            if still_queued.rowcount != 1:
                return None, False
        record_event(
            conn,
            message.id,
            REPORT,
            now,
            state=report.state.value,
            detail=report.status,
            dedupe_key=dedupe,
        )
        return ("deferred" if status is MessageStatus.QUEUED else "late"), False

    async def apply_reply(self, reply: MobileOriginated) -> str:
        """Record an opt-out reply; returns its outcome (see :class:`CallbackOutcome`)."""
        if not is_opt_out(reply.text):
            log.info("push_reply_ignored", operator=reply.operator)
            return "ignored"
        target = await self._reply_target(reply)
        if target is None:
            log.info("push_reply_without_message", operator=reply.operator)
            return "no_message"
        scope = phone_scope(target.tenant_id)
        now = self._clock.now()
        try:
            async with self._sessions() as session, session.begin():
                existing = await session.exec(
                    select(OptOut.phone_index).where(
                        OptOut.tenant_id == target.tenant_id,
                        OptOut.signature == target.signature,
                        col(OptOut.phone_index).in_(self._index.candidates(reply.phone_number, scope=scope)),
                    )
                )
                if existing.first() is not None:
                    return "already_opted_out"
                session.add(
                    OptOut(
                        tenant_id=target.tenant_id,
                        signature=target.signature,
                        phone_index=self._index.compute(reply.phone_number, scope=scope),
                        operator=reply.operator,
                        created_at=now,
                    )
                )
                add_event(session, target.id, "opted_out", now)
        except IntegrityError:
            return "already_opted_out"
        log.info("push_opted_out", message_id=target.id, tenant_id=target.tenant_id)
        return "opted_out"

    async def _reply_target(self, reply: MobileOriginated) -> PushMessage | None:
        async with self._sessions() as session:
            if reply.reference is not None and _is_uuid(reply.reference):
                named = await session.get(PushMessage, reply.reference)
                if named is not None and named.recipient_index in self._index.candidates(
                    reply.phone_number, scope=phone_scope(named.tenant_id)
                ):
                    return named
            accepted = col(PushMessage.provider_message_id).is_not(None) & (
                col(PushMessage.operator) == reply.operator
            )
            tenants = (await session.exec(select(PushMessage.tenant_id).where(accepted).distinct())).all()
            if not tenants:
                return None
            mine = [
                (col(PushMessage.tenant_id) == tenant)
                & col(PushMessage.recipient_index).in_(
                    self._index.candidates(reply.phone_number, scope=phone_scope(tenant))
                )
                for tenant in tenants
            ]
            latest = await session.exec(
                select(PushMessage)
                .where(accepted, sa.or_(*mine))
                .order_by(col(PushMessage.created_at).desc())
                .limit(1)
            )
            return latest.first()
