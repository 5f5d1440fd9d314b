"""Wire models of the admin staff API and the JSON of a member and of an audit entry.

A password is read here and handed to the service; no answer or error message ever carries it.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.push.service import timestamp
from gateway.staff import AuditEntry, Role, StaffMember
from gateway.staff.audit import MAX_PAGE
from gateway.staff.passwords import MAX_LENGTH
from gateway.staff.service import MAX_BRANCHES
from gateway.wire import described_pattern

__all__ = [
    "AuditQuery",
    "NoBody",
    "PasswordReset",
    "SsoSubject",
    "StaffCreate",
    "StaffUpdate",
    "audit_json",
    "member_json",
]

USERNAME = described_pattern(
    r"^[A-Za-z0-9._@-]{3,64}$", "3 to 64 letters, digits, '.', '_', '@' or '-' (stored in lower case)"
)
BranchId = Annotated[str, Field(pattern=described_pattern(r"^[\x21-\x7e]{1,40}$", "a branch id"))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StaffCreate(_Strict):
    """``POST /admin/tenants/{tenant_id}/staff``."""

    username: str = Field(pattern=USERNAME)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    role: Role
    branches: list[BranchId] = Field(default_factory=list, max_length=MAX_BRANCHES)
    """Ids of the tenant's branches the member serves (admins serve every branch)."""


class StaffUpdate(_Strict):
    """``PATCH /admin/tenants/{tenant_id}/staff/{staff_id}``: an omitted or null field is unchanged."""

    role: Role | None = None
    branches: list[BranchId] | None = Field(default=None, max_length=MAX_BRANCHES)


class PasswordReset(_Strict):
    """``POST /admin/tenants/{tenant_id}/staff/{staff_id}/reset-password``."""

    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class SsoSubject(_Strict):
    """``PUT /admin/tenants/{tenant_id}/staff/{staff_id}/sso-subject``: the member's ``sub`` at the
    tenant's identity provider."""

    subject: str = Field(min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$")


class NoBody(_Strict):
    """The body of a staff action without parameters, if any: an empty object."""


class AuditQuery(_Strict):
    """The query of ``GET /admin/tenants/{tenant_id}/audit``: a page size and the entry id to read
    before (the ``nextBefore`` of the previous page)."""

    limit: int = Field(default=100, ge=1, le=MAX_PAGE)
    before: int | None = Field(default=None, ge=1)


def member_json(member: StaffMember) -> dict[str, Any]:
    """A staff account as the admin API shows it (never a password or a TOTP secret)."""
    return {
        "id": member.id,
        "tenantId": member.tenant_id,
        "username": member.username,
        "role": member.role.value,
        "branches": list(member.branches),
        "totpEnabled": member.totp_enabled,
        "disabled": member.disabled,
        "createdAt": timestamp(member.created_at),
        "ssoSubject": member.sso_subject,
    }


def audit_json(entry: AuditEntry) -> dict[str, Any]:
    """One audit entry; ``staffId`` and ``username`` are null for the admin API and the CLI."""
    return {
        "id": entry.id,
        "staffId": entry.staff_id,
        "username": entry.username,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
        "at": timestamp(entry.at),
    }
