"""The dashboard's wire: the query of every figure, the retry body, and the answers (camelCase),
built from the service's dataclasses so the OpenAPI document and the routes share one shape."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.dashboard.period import Period
from gateway.dashboard.service import (
    Funnel,
    FunnelRow,
    IdentityRow,
    Operators,
    QueueRow,
    SearchHit,
    VerificationRow,
    WebhookTarget,
)
from gateway.wire import described_pattern

__all__ = [
    "FunnelOut",
    "IdentityOut",
    "OperatorsOut",
    "OutageOut",
    "QueuesOut",
    "RangeQuery",
    "RetryBody",
    "RetryOut",
    "SearchOut",
    "SearchQuery",
    "VerificationsOut",
    "WebhooksOut",
    "funnel_out",
    "identity_out",
    "operators_out",
    "queues_out",
    "search_out",
    "stamp",
    "verifications_out",
    "webhooks_out",
]

_DAY = described_pattern(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "a day as YYYY-MM-DD")


def stamp(moment: datetime | None) -> str | None:
    """RFC 3339 UTC with a ``Z``, to the second."""
    return None if moment is None else moment.isoformat(timespec="seconds").replace("+00:00", "Z")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RangeQuery(_Strict):
    """``from`` and ``to``: Shanghai days, both included, at most 92 apart (default: the last 7 days)."""

    from_: str | None = Field(default=None, alias="from", pattern=_DAY, description="First day, YYYY-MM-DD.")
    to: str | None = Field(default=None, pattern=_DAY, description="Last day, YYYY-MM-DD (default: today).")


class SearchQuery(_Strict):
    """``q``: a message id, or the last four digits of the number."""

    q: str = Field(min_length=1, max_length=64, description="A message id, or 4 digits.")


class RetryBody(_Strict):
    """Which target's dead letters to send again: ``""`` the endpoint (default), else a sink."""

    target: str = Field(
        default="",
        pattern=described_pattern(r"^[\x21-\x7e]{0,80}$", '"" or a sink name'),
        description='"" for the endpoint, or a sink name.',
    )


class _Range(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    timeZone: Literal["Asia/Shanghai"] = "Asia/Shanghai"


class _Fresh(_Range):
    asOf: str | None = Field(description="When the oldest day of the range was computed (null: not yet).")


class FunnelStepsOut(BaseModel):
    """One row of the funnel."""

    day: date
    accepted: int
    submitted: int
    delivered: int
    opened: int
    completed: int
    locationShared: int
    ticketCalled: int
    failed: int


class TemplateStepsOut(FunnelStepsOut):
    """One day's messages of one template."""

    templateId: str
    templateName: str | None


class FailureOut(BaseModel):
    """Failed messages of one reason."""

    reason: str
    messages: int


class FunnelOut(_Fresh):
    """``GET /console/api/dashboard/funnel``."""

    days: list[FunnelStepsOut]
    templates: list[TemplateStepsOut]
    failures: list[FailureOut]


class OperatorOut(BaseModel):
    """One operator's delivery figures and report latency."""

    operator: str
    accepted: int
    submitted: int
    delivered: int
    undelivered: int
    noReport: int
    deliveryRate: float | None
    timed: int
    p50Ms: int | None
    p95Ms: int | None


class OperatorErrorOut(BaseModel):
    """One kind of operator failure."""

    operator: str
    kind: Literal["submit_failed", "failed", "unknown"]
    reason: str
    events: int


class OutageOut(BaseModel):
    """One operator outage seen by one gateway process: its circuit opened at ``openedAt`` and closed
    at ``closedAt`` (null: still open); ``seconds`` open so far."""

    operator: str
    process: str
    openedAt: str
    closedAt: str | None
    seconds: float


class OperatorsOut(_Fresh):
    """``GET /console/api/dashboard/operators``."""

    operators: list[OperatorOut]
    errors: list[OperatorErrorOut]
    outages: list[OutageOut]


class IdentityRowOut(BaseModel):
    """Calls of one day, operator and capability."""

    day: date
    operator: str
    family: Literal["one_tap", "camara", "verify", "other"]
    capability: str
    calls: int
    billed: int


class IdentityOut(_Range):
    """``GET /console/api/dashboard/identity``."""

    rows: list[IdentityRowOut]
    calls: int
    billed: int


class VerificationDayOut(BaseModel):
    """Verification requests of one day."""

    day: date
    requests: int
    completed: int
    byCode: int
    failed: int
    expired: int
    cancelled: int
    pending: int


class VerificationsOut(_Range):
    """``GET /console/api/dashboard/verifications``."""

    days: list[VerificationDayOut]


class WebhookTargetOut(BaseModel):
    """Deliveries to one target."""

    target: str = Field(description='"" is the tenant\'s endpoint, anything else a sink.')
    statuses: dict[str, int]
    deadLetters: int
    lastError: str | None
    lastErrorDelivery: str | None
    lastErrorAt: str | None


class WebhooksOut(_Range):
    """``GET /console/api/dashboard/webhooks``."""

    targets: list[WebhookTargetOut]
    canRetry: bool = Field(description="Whether the signed-in member may retry dead letters (admins).")


class RetryOut(BaseModel):
    """``POST /console/api/dashboard/webhooks/retry``."""

    target: str
    requeued: int


class QueueOut(BaseModel):
    """One branch's tickets of one service day."""

    day: date
    branchId: str
    branchName: str
    issued: int
    called: int
    noShow: int
    cancelled: int
    waiting: int
    averageWaitSeconds: float | None


class QueuesOut(_Range):
    """``GET /console/api/dashboard/queues``."""

    branches: list[QueueOut]


class MessageOut(BaseModel):
    """A message found by the search: the number masked."""

    id: str
    createdAt: str
    templateId: str
    templateName: str | None
    operator: str | None
    status: str
    failureReason: str | None
    segments: int
    to: str = Field(description="Masked, e.g. +86138****8000.")


class SearchOut(BaseModel):
    """``GET /console/api/dashboard/search``."""

    messages: list[MessageOut]


def _range(period: Period) -> dict[str, date]:
    return {"from_": period.first, "to": period.last}


def _steps(row: FunnelRow) -> dict[str, object]:
    return {
        "day": row.day,
        "accepted": row.accepted,
        "submitted": row.submitted,
        "delivered": row.delivered,
        "opened": row.opened,
        "completed": row.completed,
        "locationShared": row.location_shared,
        "ticketCalled": row.ticket_called,
        "failed": row.failed,
    }


def funnel_out(period: Period, funnel: Funnel) -> FunnelOut:
    """The funnel's answer."""
    return FunnelOut(
        **_range(period),
        asOf=stamp(funnel.as_of),
        days=[FunnelStepsOut.model_validate(_steps(row)) for row in funnel.days],
        templates=[
            TemplateStepsOut.model_validate(
                {**_steps(row), "templateId": row.template_id, "templateName": row.template_name}
            )
            for row in funnel.rows
        ],
        failures=[FailureOut(reason=f.reason, messages=f.messages) for f in funnel.failures],
    )


def operators_out(period: Period, operators: Operators, now: datetime) -> OperatorsOut:
    """The operators' answer (the delivery rate rounded to four places, outage seconds to one)."""
    return OperatorsOut(
        **_range(period),
        asOf=stamp(operators.as_of),
        operators=[
            OperatorOut(
                operator=f.operator,
                accepted=f.accepted,
                submitted=f.submitted,
                delivered=f.delivered,
                undelivered=f.undelivered,
                noReport=f.no_report,
                deliveryRate=round(f.delivery_rate, 4) if f.delivery_rate is not None else None,
                timed=f.timed,
                p50Ms=f.p50_ms,
                p95Ms=f.p95_ms,
            )
            for f in operators.figures
        ],
        errors=[
            OperatorErrorOut.model_validate(
                {"operator": e.operator, "kind": e.kind, "reason": e.reason, "events": e.events}
            )
            for e in operators.errors
        ],
        outages=[
            OutageOut(
                operator=o.operator,
                process=o.process,
                openedAt=stamp(o.opened_at) or "",
                closedAt=stamp(o.closed_at),
                seconds=round(o.seconds(now), 1),
            )
            for o in operators.outages
        ],
    )


def identity_out(period: Period, rows: list[IdentityRow]) -> IdentityOut:
    """The identity calls' answer, with the range's totals."""
    return IdentityOut(
        **_range(period),
        rows=[
            IdentityRowOut.model_validate(
                {
                    "day": r.day,
                    "operator": r.operator,
                    "family": r.family,
                    "capability": r.capability,
                    "calls": r.calls,
                    "billed": r.billed,
                }
            )
            for r in rows
        ],
        calls=sum(r.calls for r in rows),
        billed=sum(r.billed for r in rows),
    )


def verifications_out(period: Period, rows: list[VerificationRow]) -> VerificationsOut:
    """The verifications' answer."""
    return VerificationsOut(
        **_range(period),
        days=[
            VerificationDayOut(
                day=r.day,
                requests=r.requests,
                completed=r.completed,
                byCode=r.by_code,
                failed=r.failed,
                expired=r.expired,
                cancelled=r.cancelled,
                pending=r.pending,
            )
            for r in rows
        ],
    )


def webhooks_out(period: Period, targets: list[WebhookTarget], *, can_retry: bool) -> WebhooksOut:
    """The webhooks' answer."""
    return WebhooksOut(
        **_range(period),
        targets=[
            WebhookTargetOut(
                target=t.target,
                statuses=t.statuses,
                deadLetters=t.dead,
                lastError=t.last_error,
                lastErrorDelivery=t.last_error_delivery,
                lastErrorAt=stamp(t.last_error_at),
            )
            for t in targets
        ],
        canRetry=can_retry,
    )


def queues_out(period: Period, rows: list[QueueRow]) -> QueuesOut:
    """The queues' answer (waits in seconds, to a tenth)."""
    return QueuesOut(
        **_range(period),
        branches=[
            QueueOut(
                day=q.day,
                branchId=q.branch_id,
                branchName=q.branch_name,
                issued=q.issued,
                called=q.called,
                noShow=q.no_show,
                cancelled=q.cancelled,
                waiting=q.waiting,
                averageWaitSeconds=round(q.average_wait_ms / 1000, 1)
                if q.average_wait_ms is not None
                else None,
            )
            for q in rows
        ],
    )


def search_out(hits: list[SearchHit]) -> SearchOut:
    """The search's answer."""
    return SearchOut(
        messages=[
            MessageOut(
                id=h.id,
                createdAt=stamp(h.created_at) or "",
                templateId=h.template_id,
                templateName=h.template_name,
                operator=h.operator,
                status=h.status,
                failureReason=h.failure_reason,
                segments=h.segments,
                to=h.to_masked,
            )
            for h in hits
        ]
    )
