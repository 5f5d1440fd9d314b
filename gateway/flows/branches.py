"""Branches and their queues (contract §6): tickets by SMS, call-next, the customer's ticket page.

Teller side (scope ``branches:manage``; another tenant's or a malformed branch id is 404):

- :meth:`Branches.create` checks the ticket template (and the call template, or creates one from
  :func:`~gateway.flows.queue.call_template_spec`: pending review like any template of a
  non-sandbox tenant) per :func:`~gateway.flows.queue.check_queue_template`.
- :meth:`Branches.issue_ticket` allocates the day's next sequence number (a unique constraint
  settles concurrent tellers: the loser takes the next one), then sends the ticket SMS through
  :meth:`~gateway.push.service.PushService.send` with ``Idempotency-Key`` ``branch-ticket:<id>``
  and a ``QUEUE_TICKET_TTL_SECONDS`` link. A refused send removes the ticket and re-raises.
- :meth:`Branches.call_next` needs an approved call template (``422 TEMPLATE_NOT_APPROVED``
  before anything moves), calls the first waiting ticket (compare-and-set, so two tellers never
  call one ticket), completes the ticket message and publishes ``queue.ticket_called`` in one
  transaction, then sends the call SMS (``branch-call:<id>``). A refused call SMS is logged and
  leaves the call in place (``messageId`` null): the customer is called at the counter anyway.

- :meth:`Branches.recall` re-announces the ticket called to a counter (``queue.ticket_recalled``);
  :meth:`Branches.no_show` marks it ``no_show`` (``queue.ticket_no_show``) and frees the counter.
  A counter's current ticket is the last one of the day called to it, while still ``called``;
  without one both are ``409 NO_TICKET_CALLED``. :meth:`Branches.calls` lists the day's calls and
  :meth:`Branches.summaries` the tenant's branches (ids and names).

Customer side (flow session of a ticket or call link): :meth:`Branches.ticket_of` (position and
estimated wait while waiting) and :meth:`Branches.cancel` (``queue.ticket_cancelled``; repeated:
the same answer; after a call or a no-show: ``409 FLOW_STATE_CONFLICT``). Webhook payloads carry
branch, ticket and message ids, the ticket label and counter: never the number.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.clock import Clock
from gateway.crypto import BlindIndex, DecryptionError, FieldCipher
from gateway.db import as_utc
from gateway.errors import (
    ApiError,
    FlowStateConflict,
    NotFound,
    NoTicketCalled,
    PermissionDenied,
    QueueEmpty,
    Unavailable,
)
from gateway.flows.links import advance
from gateway.flows.models import Branch, BranchTicket, ticket_phone_aad
from gateway.flows.queue import (
    CALL_PARAMS,
    TICKET_PARAMS,
    call_template_spec,
    check_queue_template,
    estimated_wait_minutes,
    fill_params,
    minutes_per_customer,
    service_day,
    ticket_label,
)
from gateway.flows.redemption import stamp
from gateway.flows.rules import COMPLETABLE_FROM
from gateway.flows.sessions import FlowContext
from gateway.logs import mask_phone
from gateway.one_tap.service import phone_scope
from gateway.push.service import Accepted, SendRequest
from gateway.push.states import MessageStatus
from gateway.templates import Flow, Template, TemplateSpec
from gateway.webhooks import Publisher

__all__ = [
    "BranchSummary",
    "BranchView",
    "Branches",
    "CallEntry",
    "CalledTicket",
    "CounterTicket",
    "IssuedTicket",
    "MessageSender",
    "QueueView",
    "TemplateStore",
    "TicketView",
    "well_formed_id",
]

log = structlog.get_logger(__name__)
TICKETS: sa.Table = BranchTicket.__table__  # type: ignore[attr-defined]
WAITING, CALLED, CANCELLED, NO_SHOW = "waiting", "called", "cancelled", "no_show"
_ALLOCATION_ATTEMPTS = 20
_CALL_ATTEMPTS = 20
_RECENT_SHOWN = 10
_CALLS_SHOWN = 500


class TemplateStore(Protocol):
    """The templates feature, as far as branches need it."""

    async def get(self, tenant_id: str, template_id: str) -> Template:
        """The tenant's template; raises NotFound."""
        ...

    async def get_approved(self, tenant_id: str, template_id: str) -> Template:
        """The tenant's approved template; raises NotFound or TemplateNotApproved."""
        ...

    async def create(self, tenant_id: str, spec: TemplateSpec, *, builtin: str | None = None) -> Template:
        """Store a new template (pending review, approved at once for sandbox tenants)."""
        ...


class MessageSender(Protocol):
    """The push message API (:class:`~gateway.push.service.PushService`)."""

    async def send(self, *, tenant_id: str, request: SendRequest, idempotency_key: str | None) -> Accepted:
        """Accept one SMS; raises the contract's errors."""
        ...


@dataclass(frozen=True, slots=True)
class BranchView:
    """A branch as its tenant sees it."""

    id: str
    name: str
    template_id: str
    call_template_id: str
    call_template_status: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BranchSummary:
    """A branch's id and name (the console's branch list)."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class IssuedTicket:
    """``201`` of ``POST …/tickets``."""

    ticket: str
    position: int
    message_id: str


@dataclass(frozen=True, slots=True)
class CalledTicket:
    """The answer to call-next: who was called to which counter, and how many still wait."""

    ticket: str
    counter: str
    message_id: str | None
    waiting: int


@dataclass(frozen=True, slots=True)
class CounterTicket:
    """The ticket a recall or a no-show acted on."""

    ticket: str
    counter: str
    message_id: str | None
    called_at: datetime


@dataclass(frozen=True, slots=True)
class CallEntry:
    """One call of the day: ``status`` is ``called`` or ``no_show``."""

    ticket: str
    counter: str
    status: str
    service: str | None
    called_at: datetime


@dataclass(frozen=True, slots=True)
class WaitingEntry:
    """One waiting ticket in the teller's queue view (number masked)."""

    ticket: str
    position: int
    service: str | None
    phone_masked: str
    issued_at: datetime
    message_id: str | None


@dataclass(frozen=True, slots=True)
class CalledEntry:
    """A recently called ticket."""

    ticket: str
    counter: str
    called_at: datetime


@dataclass(frozen=True, slots=True)
class QueueView:
    """``GET …/queue``."""

    branch: BranchView
    waiting: list[WaitingEntry]
    called: list[CalledEntry]
    minutes_per_customer: float


@dataclass(frozen=True, slots=True)
class TicketView:
    """The customer's ticket page."""

    ticket: str
    status: str
    position: int | None
    estimated_wait_minutes: int | None
    counter: str | None
    branch_name: str
    service: str | None


def _utc(moment: datetime) -> datetime:
    return as_utc(moment) or moment


def well_formed_id(value: str) -> bool:
    """Whether ``value`` is a branch id in canonical form (a UUID)."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


class Branches:
    """See the module docstring."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        templates: TemplateStore,
        sender: MessageSender,
        events: Publisher,
        cipher: FieldCipher,
        index: BlindIndex,
        clock: Clock,
        ticket_ttl_seconds: int,
        default_minutes_per_customer: float,
    ) -> None:
        self._sessions = sessions
        self._templates = templates
        self._sender = sender
        self._events = events
        self._cipher = cipher
        self._index = index
        self._clock = clock
        self._ttl = ticket_ttl_seconds
        self._default_mpc = default_minutes_per_customer

    # -- teller side -----------------------------------------------------------------------------

    async def create(
        self, tenant_id: str, *, name: str, template_id: str, call_template_id: str | None
    ) -> BranchView:
        """A new branch (see the module docstring).

        :raises NotFound: a template is unknown or another tenant's.
        :raises InvalidArgument: a template the queue cannot send.
        """
        ticket_template = await self._templates.get(tenant_id, template_id)
        check_queue_template(ticket_template.spec, TICKET_PARAMS, role="templateId")
        if call_template_id is not None:
            call_template = await self._templates.get(tenant_id, call_template_id)
            check_queue_template(call_template.spec, CALL_PARAMS, role="callTemplateId")
        else:
            call_template = await self._templates.create(tenant_id, call_template_spec(ticket_template.spec))
        branch = Branch(
            id=str(uuid.uuid4()),
            tenant_id=tenant_id,
            name=name,
            template_id=ticket_template.id,
            call_template_id=call_template.id,
            created_at=self._clock.now(),
        )
        async with self._sessions() as session, session.begin():
            session.add(branch)
        log.info("branch_created", branch_id=branch.id, call_template_id=call_template.id)
        return self._view(branch, call_template.status.value)

    async def get(self, tenant_id: str, branch_id: str) -> BranchView:
        """The tenant's branch. :raises NotFound: unknown, malformed or another tenant's."""
        branch = await self._branch(tenant_id, branch_id)
        call_template = await self._templates.get(tenant_id, branch.call_template_id)
        return self._view(branch, call_template.status.value)

    async def issue_ticket(
        self, tenant_id: str, branch_id: str, *, phone: str, service: str | None
    ) -> IssuedTicket:
        """Give ``phone`` the next ticket and send it the ticket SMS.

        :raises NotFound: unknown branch.
        :raises TemplateNotApproved, MissingParam, ServiceNotApplicable, ...: from the push API.
        """
        branch = await self._branch(tenant_id, branch_id)
        template = await self._templates.get_approved(tenant_id, branch.template_id)
        ticket = await self._allocate(branch, phone, service)
        position = await self._position(ticket)
        params = fill_params(
            template.spec,
            {"ticket": ticket.label, "branchName": branch.name, "service": service, "position": position},
        )
        try:
            accepted = await self._send(tenant_id, template.id, phone, params, f"branch-ticket:{ticket.id}")
        except Exception:
            async with self._sessions() as session, session.begin():
                await session.exec(sa.delete(TICKETS).where(TICKETS.c.id == ticket.id))
            raise
        message_id = str(accepted.body["id"])
        async with self._sessions() as session, session.begin():
            await session.exec(
                sa.update(TICKETS).where(TICKETS.c.id == ticket.id).values(message_id=message_id)
            )
        log.info("branch_ticket_issued", branch_id=branch.id, ticket=ticket.label, message_id=message_id)
        return IssuedTicket(ticket.label, position, message_id)

    async def call_next(self, tenant_id: str, branch_id: str, *, counter: str) -> CalledTicket:
        """Call the first waiting ticket to ``counter`` (see the module docstring).

        :raises NotFound: unknown branch.
        :raises TemplateNotApproved: the call template is not approved (nothing changes).
        :raises QueueEmpty: nobody is waiting.
        """
        branch = await self._branch(tenant_id, branch_id)
        template = await self._templates.get_approved(tenant_id, branch.call_template_id)
        ticket = await self._call_first(branch, counter)
        params = fill_params(
            template.spec,
            {
                "ticket": ticket.label,
                "branchName": branch.name,
                "service": ticket.service,
                "counter": counter,
            },
        )
        phone = self._phone(ticket)
        message_id: str | None = None
        try:
            accepted = await self._send(tenant_id, template.id, phone, params, f"branch-call:{ticket.id}")
        except ApiError as exc:
            log.warning("branch_call_sms_refused", branch_id=branch.id, ticket=ticket.label, error=exc.code)
        else:
            message_id = str(accepted.body["id"])
            async with self._sessions() as session, session.begin():
                await session.exec(
                    sa.update(TICKETS).where(TICKETS.c.id == ticket.id).values(call_message_id=message_id)
                )
        waiting = await self._count_waiting(branch.id)
        log.info("branch_ticket_called", branch_id=branch.id, ticket=ticket.label, counter=counter)
        return CalledTicket(ticket.label, counter, message_id, waiting)

    async def queue(self, tenant_id: str, branch_id: str) -> QueueView:
        """The waiting tickets in order (numbers masked) and the last calls of the day."""
        view = await self.get(tenant_id, branch_id)
        now = self._clock.now()
        async with self._sessions() as session:
            waiting = (
                await session.exec(
                    select(BranchTicket)
                    .where(BranchTicket.branch_id == view.id, BranchTicket.status == WAITING)
                    .order_by(col(BranchTicket.service_day), col(BranchTicket.seq))
                )
            ).all()
            called = (
                await session.exec(
                    select(BranchTicket)
                    .where(
                        BranchTicket.branch_id == view.id,
                        BranchTicket.status == CALLED,
                        BranchTicket.service_day == service_day(now),
                    )
                    .order_by(col(BranchTicket.called_at).desc())
                    .limit(_RECENT_SHOWN)
                )
            ).all()
        return QueueView(
            branch=view,
            waiting=[
                WaitingEntry(
                    ticket=t.label,
                    position=i + 1,
                    service=t.service,
                    phone_masked=self._masked(t),
                    issued_at=_utc(t.issued_at),
                    message_id=t.message_id,
                )
                for i, t in enumerate(waiting)
            ],
            called=[CalledEntry(t.label, t.counter or "", _utc(t.called_at or t.issued_at)) for t in called],
            minutes_per_customer=await self._minutes_per_customer(view.id),
        )

    async def summaries(self, tenant_id: str, ids: Collection[str] | None = None) -> list[BranchSummary]:
        """The tenant's branches by name (only those of ``ids`` when given; unknown ids are left out)."""
        query = select(Branch).where(Branch.tenant_id == tenant_id)
        if ids is not None:
            wanted = [i for i in ids if well_formed_id(i)]
            if not wanted:
                return []
            query = query.where(col(Branch.id).in_(wanted))
        async with self._sessions() as session:
            branches = (await session.exec(query.order_by(col(Branch.name), col(Branch.id)))).all()
        return [BranchSummary(b.id, b.name) for b in branches]

    async def recall(self, tenant_id: str, branch_id: str, *, counter: str) -> CounterTicket:
        """Announce again the ticket called to ``counter`` (``queue.ticket_recalled``).

        :raises NotFound: unknown branch.
        :raises NoTicketCalled: no ticket is called to ``counter`` now.
        """
        branch = await self._branch(tenant_id, branch_id)
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            ticket = await self._current_at(session, branch.id, counter)
            data = {
                "branchId": branch.id,
                "ticketId": ticket.id,
                "ticket": ticket.label,
                "counter": counter,
                "messageId": ticket.message_id,
                "recalledAt": stamp(now),
            }
            await self._events.publish(tenant_id, "queue.ticket_recalled", data, session=session)
        log.info("branch_ticket_recalled", branch_id=branch.id, ticket=ticket.label, counter=counter)
        return self._counter_ticket(ticket)

    async def no_show(self, tenant_id: str, branch_id: str, *, counter: str) -> CounterTicket:
        """Mark the ticket called to ``counter`` as not come (``queue.ticket_no_show``); the
        counter then has no current ticket.

        :raises NotFound: unknown branch.
        :raises NoTicketCalled: no ticket is called to ``counter`` now (or another teller just
            marked it).
        """
        branch = await self._branch(tenant_id, branch_id)
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            ticket = await self._current_at(session, branch.id, counter)
            moved = await session.exec(
                sa.update(TICKETS)
                .where(TICKETS.c.id == ticket.id, TICKETS.c.status == CALLED)
                .values(status=NO_SHOW)
            )
            if moved.rowcount != 1:
                raise NoTicketCalled()
            data = {
                "branchId": branch.id,
                "ticketId": ticket.id,
                "ticket": ticket.label,
                "counter": counter,
                "messageId": ticket.message_id,
                "markedAt": stamp(now),
            }
            await self._events.publish(tenant_id, "queue.ticket_no_show", data, session=session)
        log.info("branch_ticket_no_show", branch_id=branch.id, ticket=ticket.label, counter=counter)
        return self._counter_ticket(ticket)

    async def calls(self, tenant_id: str, branch_id: str) -> list[CallEntry]:
        """The day's calls (Asia/Shanghai), newest first: called and no-show tickets.

        :raises NotFound: unknown branch.
        """
        branch = await self._branch(tenant_id, branch_id)
        async with self._sessions() as session:
            called = (
                await session.exec(
                    select(BranchTicket)
                    .where(
                        BranchTicket.branch_id == branch.id,
                        col(BranchTicket.status).in_((CALLED, NO_SHOW)),
                        BranchTicket.service_day == service_day(self._clock.now()),
                    )
                    .order_by(col(BranchTicket.called_at).desc(), col(BranchTicket.seq).desc())
                    .limit(_CALLS_SHOWN)
                )
            ).all()
        return [
            CallEntry(t.label, t.counter or "", t.status, t.service, _utc(t.called_at or t.issued_at))
            for t in called
        ]

    # -- customer side ---------------------------------------------------------------------------

    async def ticket_of(self, ctx: FlowContext) -> TicketView:
        """The ticket a queue session's link belongs to.

        :raises PermissionDenied: not a branch-queue session.
        :raises NotFound: the link was not sent by a branch.
        """
        ticket, branch = await self._ticket_for(ctx)
        return await self._ticket_view(ticket, branch)

    async def cancel(self, ctx: FlowContext) -> TicketView:
        """Leave the queue (see the module docstring).

        :raises FlowStateConflict: the ticket was already called.
        """
        ticket, branch = await self._ticket_for(ctx)
        now = self._clock.now()
        async with self._sessions() as session, session.begin():
            moved = await session.exec(
                sa.update(TICKETS)
                .where(TICKETS.c.id == ticket.id, TICKETS.c.status == WAITING)
                .values(status=CANCELLED, cancelled_at=now)
            )
            if moved.rowcount == 1:
                for message_id in filter(None, (ticket.message_id, ticket.call_message_id)):
                    await advance(
                        session,
                        message_id,
                        to=MessageStatus.COMPLETED,
                        allowed_from=COMPLETABLE_FROM,
                        now=now,
                        event="cancelled",
                        detail=Flow.BRANCH_QUEUE.value,
                    )
                data = {
                    "branchId": branch.id,
                    "ticketId": ticket.id,
                    "ticket": ticket.label,
                    "messageId": ticket.message_id,
                    "cancelledAt": stamp(now),
                }
                await self._events.publish(ticket.tenant_id, "queue.ticket_cancelled", data, session=session)
        current, _ = await self._ticket_for(ctx)
        if current.status in (CALLED, NO_SHOW):
            raise FlowStateConflict("The ticket has already been called.")
        if moved.rowcount == 1:
            log.info("branch_ticket_cancelled", branch_id=branch.id, ticket=ticket.label)
        return await self._ticket_view(current, branch)

    # -- internals -------------------------------------------------------------------------------

    def _view(self, branch: Branch, call_template_status: str) -> BranchView:
        return BranchView(
            id=branch.id,
            name=branch.name,
            template_id=branch.template_id,
            call_template_id=branch.call_template_id,
            call_template_status=call_template_status,
            created_at=_utc(branch.created_at),
        )

    async def _branch(self, tenant_id: str, branch_id: str) -> Branch:
        if not well_formed_id(branch_id):
            raise NotFound()
        async with self._sessions() as session:
            branch = await session.get(Branch, branch_id)
        if branch is None or branch.tenant_id != tenant_id:
            raise NotFound()
        return branch

    async def _allocate(self, branch: Branch, phone: str, service: str | None) -> BranchTicket:
        for _ in range(_ALLOCATION_ATTEMPTS):
            now = self._clock.now()
            day = service_day(now)
            ticket_id = str(uuid.uuid4())
            try:
                async with self._sessions() as session, session.begin():
                    last = (
                        await session.exec(
                            select(sa.func.max(BranchTicket.seq)).where(
                                BranchTicket.branch_id == branch.id, BranchTicket.service_day == day
                            )
                        )
                    ).one()
                    seq = int(last or 0) + 1
                    ticket = BranchTicket(
                        id=ticket_id,
                        tenant_id=branch.tenant_id,
                        branch_id=branch.id,
                        service_day=day,
                        seq=seq,
                        label=ticket_label(seq),
                        service=service,
                        phone_index=self._index.compute(phone, scope=phone_scope(branch.tenant_id)),
                        phone_cipher=self._cipher.encrypt(
                            phone, aad=ticket_phone_aad(branch.tenant_id, ticket_id)
                        ),
                        status=WAITING,
                        issued_at=now,
                    )
                    session.add(ticket)
            except IntegrityError:
                continue
            return ticket
        raise Unavailable("Could not allocate a ticket number; try again.")

    async def _position(self, ticket: BranchTicket) -> int:
        async with self._sessions() as session:
            ahead = (
                await session.exec(
                    select(sa.func.count())
                    .select_from(BranchTicket)
                    .where(
                        BranchTicket.branch_id == ticket.branch_id,
                        BranchTicket.status == WAITING,
                        sa.or_(
                            col(BranchTicket.service_day) < ticket.service_day,
                            sa.and_(
                                col(BranchTicket.service_day) == ticket.service_day,
                                col(BranchTicket.seq) < ticket.seq,
                            ),
                        ),
                    )
                )
            ).one()
        return int(ahead) + 1

    async def _count_waiting(self, branch_id: str) -> int:
        async with self._sessions() as session:
            count = (
                await session.exec(
                    select(sa.func.count())
                    .select_from(BranchTicket)
                    .where(BranchTicket.branch_id == branch_id, BranchTicket.status == WAITING)
                )
            ).one()
        return int(count)

    async def _minutes_per_customer(self, branch_id: str) -> float:
        async with self._sessions() as session:
            times = (
                await session.exec(
                    select(BranchTicket.called_at)
                    .where(BranchTicket.branch_id == branch_id, col(BranchTicket.called_at).is_not(None))
                    .order_by(col(BranchTicket.called_at).desc())
                    .limit(6)
                )
            ).all()
        moments = [_utc(t) for t in times if t is not None]
        return minutes_per_customer(moments, self._clock.now(), self._default_mpc)

    async def _call_first(self, branch: Branch, counter: str) -> BranchTicket:
        for _ in range(_CALL_ATTEMPTS):
            now = self._clock.now()
            async with self._sessions() as session, session.begin():
                first = (
                    await session.exec(
                        select(BranchTicket)
                        .where(BranchTicket.branch_id == branch.id, BranchTicket.status == WAITING)
                        .order_by(col(BranchTicket.service_day), col(BranchTicket.seq))
                        .limit(1)
                    )
                ).first()
                if first is None:
                    raise QueueEmpty()
                moved = await session.exec(
                    sa.update(TICKETS)
                    .where(TICKETS.c.id == first.id, TICKETS.c.status == WAITING)
                    .values(status=CALLED, counter=counter, called_at=now)
                )
                if moved.rowcount != 1:
                    continue
                if first.message_id is not None:
                    await advance(
                        session,
                        first.message_id,
                        to=MessageStatus.COMPLETED,
                        allowed_from=COMPLETABLE_FROM,
                        now=now,
                        event="called",
                        detail=Flow.BRANCH_QUEUE.value,
                    )
                data = {
                    "branchId": branch.id,
                    "ticketId": first.id,
                    "ticket": first.label,
                    "counter": counter,
                    "messageId": first.message_id,
                    "calledAt": stamp(now),
                }
                await self._events.publish(branch.tenant_id, "queue.ticket_called", data, session=session)
            return first
        raise Unavailable("Could not call the next ticket; try again.")

    async def _current_at(self, session: AsyncSession, branch_id: str, counter: str) -> BranchTicket:
        last = (
            await session.exec(
                select(BranchTicket)
                .where(
                    BranchTicket.branch_id == branch_id,
                    BranchTicket.counter == counter,
                    col(BranchTicket.status).in_((CALLED, NO_SHOW)),
                    BranchTicket.service_day == service_day(self._clock.now()),
                )
                .order_by(col(BranchTicket.called_at).desc(), col(BranchTicket.seq).desc())
                .limit(1)
            )
        ).first()
        if last is None or last.status != CALLED:
            raise NoTicketCalled()
        return last

    @staticmethod
    def _counter_ticket(ticket: BranchTicket) -> CounterTicket:
        return CounterTicket(
            ticket.label, ticket.counter or "", ticket.message_id, _utc(ticket.called_at or ticket.issued_at)
        )

    async def _send(
        self, tenant_id: str, template_id: str, phone: str, params: Mapping[str, Any], key: str
    ) -> Accepted:
        body = {"templateId": template_id, "to": phone, "params": dict(params), "ttlSeconds": self._ttl}
        request = SendRequest(
            template_id=template_id, to=phone, params=dict(params), ttl_seconds=self._ttl, canonical=body
        )
        return await self._sender.send(tenant_id=tenant_id, request=request, idempotency_key=key)

    def _phone(self, ticket: BranchTicket) -> str:
        return self._cipher.decrypt(ticket.phone_cipher, aad=ticket_phone_aad(ticket.tenant_id, ticket.id))

    def _masked(self, ticket: BranchTicket) -> str:
        try:
            return mask_phone(self._phone(ticket))
        except DecryptionError:
            log.error("branch_ticket_undecryptable", ticket_id=ticket.id)
            return ""

    async def _ticket_for(self, ctx: FlowContext) -> tuple[BranchTicket, Branch]:
        if ctx.flow is not Flow.BRANCH_QUEUE:
            raise PermissionDenied("This session belongs to another flow.")
        async with self._sessions() as session:
            row = (
                await session.exec(
                    select(BranchTicket, Branch)
                    .join(Branch, col(Branch.id) == col(BranchTicket.branch_id))
                    .where(
                        BranchTicket.tenant_id == ctx.tenant_id,
                        sa.or_(
                            col(BranchTicket.message_id) == ctx.message_id,
                            col(BranchTicket.call_message_id) == ctx.message_id,
                        ),
                    )
                )
            ).first()
        if row is None:
            raise NotFound("This link does not belong to a queue ticket.")
        return row

    async def _ticket_view(self, ticket: BranchTicket, branch: Branch) -> TicketView:
        position: int | None = None
        wait: int | None = None
        if ticket.status == WAITING:
            position = await self._position(ticket)
            wait = estimated_wait_minutes(position, await self._minutes_per_customer(branch.id))
        return TicketView(
            ticket=ticket.label,
            status=ticket.status,
            position=position,
            estimated_wait_minutes=wait,
            counter=ticket.counter,
            branch_name=branch.name,
            service=ticket.service,
        )
