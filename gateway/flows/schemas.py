"""Wire models of the links, flows and branches APIs, and the JSON of their answers."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator

from gateway.flows.branches import BranchView, CalledTicket, IssuedTicket, QueueView, TicketView
from gateway.flows.claim_location import Position, SharedLocation, StoredLocation
from gateway.flows.redemption import Redeemed, stamp
from gateway.wire import E164

__all__ = [
    "BranchCreate",
    "CallNext",
    "LocationShare",
    "RedeemBody",
    "TicketCreate",
    "branch_json",
    "called_json",
    "issued_json",
    "location_json",
    "queue_json",
    "redeemed_json",
    "shared_json",
    "ticket_json",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)
_COUNTER = re.compile(r"[0-9A-Za-z]{1,8}")
_NAME = r"^[^\x00-\x1f\x7f【】\u200e\u200f\u202a-\u202e\u2066-\u2069]+$"


class RedeemBody(BaseModel):
    """``POST /push/v1/links/{code}/redeem``: the operator token from the opening device.

    ``channel`` says how the link was opened (``h5`` page or ``quick_app``), for the tenant's
    ``link.opened``.
    """

    model_config = _STRICT

    token: str = Field(min_length=8, max_length=2048)
    operator: Literal["cmcc", "cucc", "ctcc"] | None = None
    channel: Literal["h5", "quick_app"] = "h5"


class LocationShare(BaseModel):
    """``POST /flows/v1/claim-location``: WGS-84 degrees and the browser's accuracy radius."""

    model_config = _STRICT

    latitude: float = Field(ge=-90, le=90, strict=True, allow_inf_nan=False)
    longitude: float = Field(ge=-180, le=180, strict=True, allow_inf_nan=False)
    accuracyMeters: float = Field(gt=0, le=100_000, strict=True, allow_inf_nan=False)

    def to_domain(self) -> Position:
        """The service's value."""
        return Position(float(self.latitude), float(self.longitude), float(self.accuracyMeters))


class BranchCreate(BaseModel):
    """``POST /push/v1/branches``; without ``callTemplateId`` the gateway creates the call template."""

    model_config = _STRICT

    name: str = Field(min_length=1, max_length=64, pattern=_NAME)
    templateId: str = Field(min_length=1, max_length=64)
    callTemplateId: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("name")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        if value.strip() != value or not value:
            raise ValueError("must not start or end with spaces")
        return value


class TicketCreate(BaseModel):
    """``POST /push/v1/branches/{id}/tickets``."""

    model_config = _STRICT

    phoneNumber: str = Field(pattern=E164)
    service: str | None = Field(default=None, min_length=1, max_length=32, pattern=_NAME)


class CallNext(BaseModel):
    """``POST /push/v1/branches/{id}/call-next``: a counter number (1-999) or label (``A3``)."""

    model_config = _STRICT

    counter: StrictInt | str

    @field_validator("counter")
    @classmethod
    def _counter(cls, value: int | str) -> str:
        text = str(value)
        if isinstance(value, int) and not 1 <= value <= 999:
            raise ValueError("must be 1..999")
        if not _COUNTER.fullmatch(text):
            raise ValueError("must be 1-8 letters or digits")
        return text


def redeemed_json(redeemed: Redeemed) -> dict[str, Any]:
    """``200`` of a redemption."""
    return {
        "session": redeemed.session,
        "expiresAt": stamp(redeemed.expires_at),
        "flow": redeemed.flow.value,
        "params": redeemed.params,
        "state": redeemed.state,
    }


def shared_json(outcome: SharedLocation) -> dict[str, Any]:
    """``200`` of a share or a decline."""
    return {"status": outcome.status.value, "at": stamp(outcome.at)}


def location_json(stored: StoredLocation) -> dict[str, Any]:
    """``GET /push/v1/messages/{id}/location``: what ``claim.location_shared`` carried."""
    position = stored.position
    return {
        "messageId": stored.message_id,
        "location": {
            "latitude": position.latitude,
            "longitude": position.longitude,
            "accuracyMeters": position.accuracy_meters,
        },
        "sharedAt": stamp(stored.shared_at),
    }


def branch_json(view: BranchView) -> dict[str, Any]:
    """A branch."""
    return {
        "id": view.id,
        "name": view.name,
        "templateId": view.template_id,
        "callTemplateId": view.call_template_id,
        "callTemplateStatus": view.call_template_status,
        "createdAt": stamp(view.created_at),
    }


def issued_json(issued: IssuedTicket) -> dict[str, Any]:
    """``201`` of a ticket."""
    return {"ticket": issued.ticket, "position": issued.position, "messageId": issued.message_id}


def called_json(called: CalledTicket) -> dict[str, Any]:
    """``200`` of call-next."""
    return {
        "ticket": called.ticket,
        "counter": called.counter,
        "messageId": called.message_id,
        "waiting": called.waiting,
    }


def queue_json(view: QueueView) -> dict[str, Any]:
    """``GET …/queue``: numbers masked."""
    return {
        "branch": branch_json(view.branch),
        "waiting": [
            {
                "ticket": w.ticket,
                "position": w.position,
                "service": w.service,
                "phoneNumber": w.phone_masked,
                "issuedAt": stamp(w.issued_at),
                "messageId": w.message_id,
            }
            for w in view.waiting
        ],
        "called": [
            {"ticket": c.ticket, "counter": c.counter, "calledAt": stamp(c.called_at)} for c in view.called
        ],
        "minutesPerCustomer": round(view.minutes_per_customer, 1),
    }


def ticket_json(view: TicketView) -> dict[str, Any]:
    """``GET /flows/v1/branch-queue``."""
    return {
        "ticket": view.ticket,
        "position": view.position,
        "estimatedWaitMinutes": view.estimated_wait_minutes,
        "status": view.status,
        "counter": view.counter,
        "branchName": view.branch_name,
        "service": view.service,
    }
