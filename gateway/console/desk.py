"""The teller desk: the branch queue as a staff member drives it, each action in the audit log.

Every call names the member; a branch the member may not serve
(:meth:`~gateway.staff.StaffMember.may_serve`) is ``404 NOT_FOUND``, exactly like an unknown one
or another tenant's (:class:`~gateway.flows.branches.Branches` looks branches up in the member's
tenant only). Audit entries: ``queue.ticket_issued``, ``queue.ticket_called``,
``queue.ticket_recalled``, ``queue.ticket_no_show``, with the branch as target and the ticket
label, counter and message id as detail (never the number).
"""

from __future__ import annotations

from typing import Any

from gateway.errors import NotFound
from gateway.flows.branches import (
    Branches,
    BranchSummary,
    CalledTicket,
    CallEntry,
    CounterTicket,
    IssuedTicket,
    QueueView,
)
from gateway.staff import AuditLog, Role, StaffMember

__all__ = ["Desk"]


class Desk:
    """See the module docstring."""

    def __init__(self, branches: Branches, audit: AuditLog) -> None:
        self._branches = branches
        self._audit = audit

    async def branches_of(self, member: StaffMember) -> list[BranchSummary]:
        """The branches the member serves (an admin: every branch of the tenant)."""
        ids = None if member.role is Role.ADMIN else member.branches
        return await self._branches.summaries(member.tenant_id, ids)

    async def serves(self, member: StaffMember, branch_id: str) -> bool:
        """Whether ``branch_id`` is a branch of the member's tenant that the member serves."""
        if not member.may_serve(branch_id):
            return False
        return bool(await self._branches.summaries(member.tenant_id, [branch_id]))

    async def queue(self, member: StaffMember, branch_id: str) -> QueueView:
        """The branch's waiting tickets (numbers masked) and recent calls."""
        self._serves(member, branch_id)
        return await self._branches.queue(member.tenant_id, branch_id)

    async def calls(self, member: StaffMember, branch_id: str) -> list[CallEntry]:
        """The day's calls, newest first."""
        self._serves(member, branch_id)
        return await self._branches.calls(member.tenant_id, branch_id)

    async def issue(
        self, member: StaffMember, branch_id: str, *, phone: str, service: str | None
    ) -> IssuedTicket:
        """Issue a ticket to ``phone`` (E.164) and send it by SMS."""
        self._serves(member, branch_id)
        issued = await self._branches.issue_ticket(member.tenant_id, branch_id, phone=phone, service=service)
        await self._record(
            member,
            "queue.ticket_issued",
            branch_id,
            ticket=issued.ticket,
            position=issued.position,
            messageId=issued.message_id,
        )
        return issued

    async def call_next(self, member: StaffMember, branch_id: str, *, counter: str) -> CalledTicket:
        """Call the first waiting ticket to ``counter``."""
        self._serves(member, branch_id)
        called = await self._branches.call_next(member.tenant_id, branch_id, counter=counter)
        await self._record(
            member,
            "queue.ticket_called",
            branch_id,
            ticket=called.ticket,
            counter=counter,
            messageId=called.message_id,
            waiting=called.waiting,
        )
        return called

    async def recall(self, member: StaffMember, branch_id: str, *, counter: str) -> CounterTicket:
        """Announce the ticket called to ``counter`` again."""
        self._serves(member, branch_id)
        recalled = await self._branches.recall(member.tenant_id, branch_id, counter=counter)
        await self._record(
            member,
            "queue.ticket_recalled",
            branch_id,
            ticket=recalled.ticket,
            counter=counter,
            messageId=recalled.message_id,
        )
        return recalled

    async def no_show(self, member: StaffMember, branch_id: str, *, counter: str) -> CounterTicket:
        """Mark the ticket called to ``counter`` as not come; the counter is free."""
        self._serves(member, branch_id)
        missed = await self._branches.no_show(member.tenant_id, branch_id, counter=counter)
        await self._record(
            member,
            "queue.ticket_no_show",
            branch_id,
            ticket=missed.ticket,
            counter=counter,
            messageId=missed.message_id,
        )
        return missed

    @staticmethod
    def _serves(member: StaffMember, branch_id: str) -> None:
        if not member.may_serve(branch_id):
            raise NotFound()

    async def _record(self, member: StaffMember, action: str, branch_id: str, **detail: Any) -> None:
        await self._audit.record(
            tenant_id=member.tenant_id, actor=member, action=action, target=branch_id, detail=detail
        )
