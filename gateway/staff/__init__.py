"""Staff of a tenant (tellers, supervisors, admins) and what they did: accounts with argon2id
passwords and an optional TOTP second factor, and the audit log of their actions (issue 21).

This module is the contract between the accounts (:mod:`gateway.staff.service`,
:mod:`gateway.staff.audit`) and their users, the console (:mod:`gateway.console`) and the admin API.
Usernames are unique across the gateway (a bank suffixes its own, e.g. ``li.na@pingan``): sign-in
asks for one name only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gateway.staff.totp import TotpEnrolment

__all__ = [
    "AuditEntry",
    "AuditLog",
    "Role",
    "SignInFailed",
    "StaffAccounts",
    "StaffMember",
    "TotpEnrolments",
    "TotpRequired",
]


class Role(enum.StrEnum):
    """What a staff member may do; enforced by the server on every console call.

    ``admin``: staff, templates, webhooks, the dashboard and every branch; ``supervisor``: the
    dashboard and the queues of assigned branches; ``teller``: the desk of assigned branches only.
    """

    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    TELLER = "teller"


@dataclass(frozen=True, slots=True)
class StaffMember:
    """A staff account as its users see it (never the password hash or the TOTP secret);
    ``sso_subject`` is the ``sub`` it is linked to at the tenant's identity provider, if any."""

    id: str
    tenant_id: str
    username: str
    role: Role
    branches: tuple[str, ...]
    totp_enabled: bool
    disabled: bool
    created_at: datetime
    sso_subject: str | None = None

    def may_serve(self, branch_id: str) -> bool:
        """Whether the member may open ``branch_id``'s desk or queue (admins: every branch)."""
        return self.role is Role.ADMIN or branch_id in self.branches


class SignInFailed(Exception):
    """Wrong username or password, a disabled account, or a wrong TOTP code: one generic failure."""


class TotpRequired(Exception):
    """The password was right and the account has TOTP enabled, but no code was given."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One staff action: who (``staff_id``/``username``, None for the admin API), what, on what."""

    id: int
    tenant_id: str
    staff_id: str | None
    username: str | None
    action: str
    target: str | None
    detail: dict[str, Any]
    at: datetime


class StaffAccounts(Protocol):
    """The accounts, as the console and the admin API use them."""

    async def authenticate(self, username: str, password: str, totp_code: str | None) -> StaffMember:
        """The member whose credentials these are.

        :raises SignInFailed: any wrong credential or a disabled account (the answer never says which).
        :raises TotpRequired: right password, TOTP enabled, ``totp_code`` None.
        """
        ...

    async def get(self, staff_id: str) -> StaffMember | None:
        """The member with this id (disabled ones included), or None."""
        ...


class TotpEnrolments(Protocol):
    """A member's own TOTP enrolment, as the console drives it."""

    async def begin_totp(self, staff_id: str) -> TotpEnrolment:
        """A new secret for the member, not in force until confirmed (beginning again replaces it).

        :raises TotpEnrolmentConflict: TOTP is already enabled.
        """
        ...

    async def confirm_totp(self, staff_id: str, code: str) -> StaffMember:
        """Put the begun enrolment in force with a current code; the member, TOTP enabled.

        :raises InvalidArgument: not a current code of the secret.
        :raises TotpEnrolmentConflict: TOTP already enabled, or no enrolment begun.
        """
        ...


class AuditLog(Protocol):
    """Where staff actions are recorded."""

    async def record(
        self,
        *,
        tenant_id: str,
        actor: StaffMember | None,
        action: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one entry (``detail`` holds ids and counts, never a full phone number)."""
        ...

    async def entries(
        self, tenant_id: str, *, limit: int = 100, before: int | None = None
    ) -> list[AuditEntry]:
        """The tenant's newest entries first, older than ``before`` (an entry id) when given."""
        ...
