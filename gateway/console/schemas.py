"""Wire models of the console API and the JSON of its answers."""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from carrier_adapters import is_national_mobile, to_e164
from gateway.console.sessions import LiveSession, Timeouts
from gateway.flows.branches import BranchSummary, CallEntry, CounterTicket
from gateway.flows.redemption import stamp
from gateway.flows.schemas import CallNext, TicketCreate
from gateway.staff import StaffMember
from gateway.staff.totp import TotpEnrolment

__all__ = [
    "ConsoleTicket",
    "CounterBody",
    "SignInBody",
    "TotpConfirmBody",
    "branches_json",
    "calls_json",
    "console_phone",
    "counter_ticket_json",
    "session_json",
    "staff_json",
    "totp_enrolment_json",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)
_SEPARATORS = re.compile(r"[\s\-()]")
_E164 = re.compile(r"\+[1-9][0-9]{4,14}")
PHONE_EXPECTED = "an 11-digit mainland mobile number such as 13800138000, or E.164 such as +8613800138000"


def console_phone(value: str) -> str:
    """A number as a teller types it, in E.164: ``138 0013 8000``, ``8613800138000`` and
    ``+8613800138000`` are ``+8613800138000``; other countries' numbers in E.164 stay as they are.

    :raises ValueError: none of those shapes.
    """
    text = _SEPARATORS.sub("", value)
    if is_national_mobile(text):
        return to_e164(text)
    if text.startswith("86") and is_national_mobile(text[2:]):
        return to_e164(text[2:])
    if _E164.fullmatch(text):
        return text
    raise ValueError("expected " + PHONE_EXPECTED)


class SignInBody(BaseModel):
    """``POST /console/api/session``: the member's username and password, and the TOTP code when
    the account has one (``401 TOTP_REQUIRED`` asks for it)."""

    model_config = _STRICT

    username: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1024)
    totp: str | None = Field(default=None, min_length=1, max_length=16)


class TotpBeginBody(BaseModel):
    """``POST /console/api/totp/enrolment``: the member's password again, so that a session taken
    over without it cannot put the taker's authenticator on the account."""

    model_config = _STRICT

    password: str = Field(min_length=1, max_length=1024)


class TotpConfirmBody(BaseModel):
    """``POST /console/api/totp/confirm``: the code the authenticator app shows now (spaces allowed)."""

    model_config = _STRICT

    code: str = Field(min_length=1, max_length=16)


class ConsoleTicket(TicketCreate):
    """``POST /console/api/branches/{id}/tickets``: ``phoneNumber`` as typed at the desk (see
    :func:`console_phone`), stored and sent in E.164."""

    phoneNumber: str = Field(min_length=1, max_length=32)

    @field_validator("phoneNumber")
    @classmethod
    def _phone(cls, value: str) -> str:
        return console_phone(value)


class CounterBody(CallNext):
    """The counter a call-next, recall or no-show is for: a number (1-999) or a label (``A3``)."""


def _member_json(member: StaffMember) -> dict[str, Any]:
    return {
        "id": member.id,
        "username": member.username,
        "role": member.role.value,
        "branches": list(member.branches),
        "totpEnabled": member.totp_enabled,
    }


def staff_json(member: StaffMember) -> dict[str, Any]:
    """``{"staff": …}``: the member as the console shows them (the answer of a TOTP confirmation)."""
    return {"staff": _member_json(member)}


def totp_enrolment_json(enrolment: TotpEnrolment) -> dict[str, Any]:
    """``POST /console/api/totp/enrolment``: the secret to type by hand, the key URI and its QR code
    as a ``data:image/svg+xml;base64`` URL (the page shows it as an ``<img>``)."""
    return {"secret": enrolment.secret, "otpauthUri": enrolment.uri, "qrCode": enrolment.image}


def session_json(live: LiveSession, timeouts: Timeouts, now: datetime) -> dict[str, Any]:
    """Who is signed in, the CSRF token of the session and its ends (also as seconds from ``now``,
    rounded up so a page never ends a session the server still keeps, for pages whose clock differs
    from the server's)."""
    return {
        "staff": _member_json(live.member),
        "csrfToken": live.csrf_token,
        "idleExpiresAt": stamp(live.idle_expires_at),
        "expiresAt": stamp(live.expires_at),
        "idleExpiresInSeconds": max(0, math.ceil((live.idle_expires_at - now).total_seconds())),
        "expiresInSeconds": max(0, math.ceil((live.expires_at - now).total_seconds())),
        "idleTimeoutSeconds": int(timeouts.idle.total_seconds()),
        "warningSeconds": int(timeouts.warning.total_seconds()),
    }


def branches_json(branches: list[BranchSummary]) -> dict[str, Any]:
    """``GET /console/api/branches``."""
    return {"branches": [{"id": b.id, "name": b.name} for b in branches]}


def calls_json(calls: list[CallEntry]) -> dict[str, Any]:
    """``GET /console/api/branches/{id}/calls``."""
    return {
        "calls": [
            {
                "ticket": c.ticket,
                "counter": c.counter,
                "status": c.status,
                "service": c.service,
                "calledAt": stamp(c.called_at),
            }
            for c in calls
        ]
    }


def counter_ticket_json(ticket: CounterTicket) -> dict[str, Any]:
    """The answer of a recall or a no-show."""
    return {
        "ticket": ticket.ticket,
        "counter": ticket.counter,
        "messageId": ticket.message_id,
        "calledAt": stamp(ticket.called_at),
    }
