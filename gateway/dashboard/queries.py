"""The dashboard's read statements: one ``GROUP BY`` per figure.

Figures come from the daily rollups (:mod:`gateway.dashboard.rollups`), bound by the tenant and
the range's days (``first_day``/``last_day``, ``YYYY-MM-DD``); the dead letters and the latest
webhook error, which are whatever the range, from the deliveries' table by the tenant through its
index on (``tenant_id``, ``status``) (``docs/dashboard.md`` has the timings on a million
messages). A message belongs to the Shanghai
day it was accepted on; everything that happened to it later (delivery, opening, completion)
counts on that day; so does a usage row, a verification request or a webhook delivery; a ticket
counts on its service day.

Funnel steps of a message:

- ``submitted``: an operator accepted it (``provider_message_id`` is set once and kept);
- ``delivered``: status ``delivered``, ``opened`` or ``completed`` (an opened link or a completed
  flow proves the SMS arrived even when its report came late or never);
- ``opened``: its link was redeemed by the recipient's phone (a ``flow_states`` row exists);
- ``completed``: its claim location was shared (``flow_states.completed_at``) or its queue ticket
  was called (``branch_tickets.called_at``: a ticket is called whether or not its link was opened);
- ``failed``: it ended ``failed``, ``unknown`` (no report in time) or ``expired`` (never sent).
"""

from __future__ import annotations

from typing import Any, TypeAlias

import sqlalchemy as sa

from gateway.circuit_journal import CircuitOpening
from gateway.dashboard.models import (
    FailureDay,
    LatencyDay,
    MessageDay,
    QueueDay,
    Refresh,
    UsageDay,
    VerifyDay,
    WebhookDay,
)
from gateway.flows.models import Branch, BranchTicket, FlowState
from gateway.one_tap.models import UsageRecord
from gateway.push.models import MessageEvent, PushMessage
from gateway.push.states import MessageStatus
from gateway.templates.models import TemplateRecord
from gateway.verify.models import VerifyRequest
from gateway.webhooks.models import WebhookDelivery

__all__ = [
    "BRANCHES",
    "DELIVERED_STATES",
    "ERROR_EVENTS",
    "EVENTS",
    "FAILED_STATES",
    "FUNNEL_STEPS",
    "MESSAGES",
    "OPENINGS",
    "OPERATOR_FIGURES",
    "QUEUE_FIGURES",
    "STATES",
    "TEMPLATES",
    "TICKETS",
    "USAGE",
    "VERIFY",
    "VERIFY_FIGURES",
    "Query",
    "failures",
    "freshness",
    "funnel",
    "identity_calls",
    "latency",
    "operators",
    "outages",
    "queues",
    "verifications",
    "webhook_dead_letters",
    "webhook_last_errors",
    "webhook_totals",
]

Query: TypeAlias = sa.Select[*tuple[Any, ...]]
"""A statement of any columns."""

MESSAGES: sa.Table = PushMessage.__table__  # type: ignore[attr-defined]
EVENTS: sa.Table = MessageEvent.__table__  # type: ignore[attr-defined]
STATES: sa.Table = FlowState.__table__  # type: ignore[attr-defined]
TICKETS: sa.Table = BranchTicket.__table__  # type: ignore[attr-defined]
BRANCHES: sa.Table = Branch.__table__  # type: ignore[attr-defined]
TEMPLATES: sa.Table = TemplateRecord.__table__  # type: ignore[attr-defined]
USAGE: sa.Table = UsageRecord.__table__  # type: ignore[attr-defined]
VERIFY: sa.Table = VerifyRequest.__table__  # type: ignore[attr-defined]
OPENINGS: sa.Table = CircuitOpening.__table__  # type: ignore[attr-defined]
MESSAGE_DAYS: sa.Table = MessageDay.__table__  # type: ignore[attr-defined]
LATENCY_DAYS: sa.Table = LatencyDay.__table__  # type: ignore[attr-defined]
FAILURE_DAYS: sa.Table = FailureDay.__table__  # type: ignore[attr-defined]
REFRESHES: sa.Table = Refresh.__table__  # type: ignore[attr-defined]
USAGE_DAYS: sa.Table = UsageDay.__table__  # type: ignore[attr-defined]
VERIFY_DAYS: sa.Table = VerifyDay.__table__  # type: ignore[attr-defined]
QUEUE_DAYS: sa.Table = QueueDay.__table__  # type: ignore[attr-defined]
WEBHOOK_DAYS: sa.Table = WebhookDay.__table__  # type: ignore[attr-defined]
DELIVERIES: sa.Table = WebhookDelivery.__table__  # type: ignore[attr-defined]

DELIVERED_STATES = (MessageStatus.DELIVERED.value, MessageStatus.OPENED.value, MessageStatus.COMPLETED.value)
FAILED_STATES = (MessageStatus.FAILED.value, MessageStatus.UNKNOWN.value, MessageStatus.EXPIRED.value)
ERROR_EVENTS = ("submit_failed", MessageStatus.FAILED.value, MessageStatus.UNKNOWN.value)
"""History entries that name an operator's failure: a refused or timed-out submission (retried),
a final failure (``detail``: the reason, or the operator's status word of a failed report), no report."""

_TENANT: sa.BindParameter[str] = sa.bindparam("tenant_id")
_FIRST_DAY: sa.BindParameter[str] = sa.bindparam("first_day")
_LAST_DAY: sa.BindParameter[str] = sa.bindparam("last_day")
FUNNEL_STEPS = ("accepted", "submitted", "delivered", "opened", "location_shared", "ticket_called", "failed")
OPERATOR_FIGURES = ("accepted", "submitted", "delivered", "undelivered", "no_report")
VERIFY_FIGURES = ("requests", "completed", "by_code", "failed", "expired", "cancelled", "pending")
QUEUE_FIGURES = ("issued", "called", "no_show", "cancelled", "waiting", "waited", "wait_ms")


def _count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[Any]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _days(table: sa.Table) -> list[sa.ColumnElement[bool]]:
    return [table.c.tenant_id == _TENANT, table.c.day >= _FIRST_DAY, table.c.day <= _LAST_DAY]


def funnel() -> Query:
    """From the rollups, per day and template: accepted, submitted, delivered, opened, location
    shared, ticket called, failed (see the module docstring)."""
    d = MESSAGE_DAYS.c
    return (
        sa.select(
            d.day,
            d.template_id,
            *(sa.func.sum(d[name]).label(name) for name in FUNNEL_STEPS),
        )
        .where(*_days(MESSAGE_DAYS))
        .group_by(d.day, d.template_id)
        .order_by(d.day, d.template_id)
    )


def operators() -> Query:
    """From the rollups, per operator (the one that accepted the message, else the one it was routed
    to; ``""``: none): accepted, submitted, delivered, failed by report, no report in time."""
    d = MESSAGE_DAYS.c
    return (
        sa.select(d.operator, *(sa.func.sum(d[name]).label(name) for name in OPERATOR_FIGURES))
        .where(*_days(MESSAGE_DAYS))
        .group_by(d.operator)
        .order_by(d.operator)
    )


def latency() -> Query:
    """From the rollups, per operator and latency bucket (milliseconds from the ``submitted`` to the
    ``delivered`` history entry, to two significant digits): how many messages."""
    d = LATENCY_DAYS.c
    return (
        sa.select(d.operator, d.bucket_ms, sa.func.sum(d.messages).label("messages"))
        .where(*_days(LATENCY_DAYS))
        .group_by(d.operator, d.bucket_ms)
        .order_by(d.operator, d.bucket_ms)
    )


def failures() -> Query:
    """From the rollups, per kind (``final``, or an entry of :data:`ERROR_EVENTS`), operator and
    reason: how many."""
    d = FAILURE_DAYS.c
    return (
        sa.select(d.kind, d.operator, d.reason, sa.func.sum(d.count).label("count"))
        .where(*_days(FAILURE_DAYS))
        .group_by(d.kind, d.operator, d.reason)
    )


def freshness() -> Query:
    """When the range's oldest computed rollup day was computed, and how many days are computed."""
    d = REFRESHES.c
    return sa.select(sa.func.min(d.computed_at).label("oldest"), sa.func.count().label("days")).where(
        *_days(REFRESHES)
    )


def identity_calls() -> Query:
    """From the rollups, usage-ledger rows per day, operator and capability: calls and billed calls."""
    d = USAGE_DAYS.c
    return (
        sa.select(
            d.day,
            d.operator,
            d.capability,
            sa.func.sum(d.calls).label("calls"),
            sa.func.sum(d.billed).label("billed"),
        )
        .where(*_days(USAGE_DAYS))
        .group_by(d.day, d.operator, d.capability)
        .order_by(d.day, d.operator, d.capability)
    )


def verifications() -> Query:
    """From the rollups, verification requests per day of creation, by status."""
    d = VERIFY_DAYS.c
    return (
        sa.select(d.day, *(sa.func.sum(d[name]).label(name) for name in VERIFY_FIGURES))
        .where(*_days(VERIFY_DAYS))
        .group_by(d.day)
        .order_by(d.day)
    )


def webhook_totals() -> Query:
    """From the rollups, deliveries created in the range per target (``""``: the tenant's endpoint,
    else the sink) and status."""
    d = WEBHOOK_DAYS.c
    return (
        sa.select(d.target, d.status, sa.func.sum(d.deliveries).label("deliveries"))
        .where(*_days(WEBHOOK_DAYS))
        .group_by(d.target, d.status)
    )


def webhook_dead_letters() -> Query:
    """Per target, whatever the range: the dead letters, ``failed`` deliveries (what
    :meth:`~gateway.webhooks.service.WebhookService.retry_dead_letters` requeues)."""
    d = DELIVERIES.c
    return (
        sa.select(d.sink, sa.func.count().label("dead"))
        .where(d.tenant_id == _TENANT, d.status == "failed")
        .group_by(d.sink)
    )


def webhook_last_errors() -> Query:
    """Per target, whatever the range: the latest error of a failed or still retrying delivery,
    with its delivery id and time."""
    d = DELIVERIES.c
    moment = sa.func.coalesce(d.finished_at, d.last_attempt_at, d.created_at)
    ranked = (
        sa.select(
            d.sink,
            d.id,
            d.last_error,
            moment.label("at"),
            sa.func.row_number()
            .over(partition_by=d.sink, order_by=(moment.desc(), d.id.desc()))
            .label("rank"),
        )
        .where(d.tenant_id == _TENANT, d.status.in_(("pending", "failed")), d.last_error.is_not(None))
        .subquery()
    )
    r = ranked.c
    return sa.select(r.sink, r.id, r.last_error, r.at).where(r.rank == 1)


def queues() -> Query:
    """From the rollups, tickets per service day and branch of the expanding parameter ``branch_ids``:
    issued, called (no-shows included), no-shows, cancelled, still waiting, and how many were called
    after how many milliseconds in all."""
    d = QUEUE_DAYS.c
    return (
        sa.select(
            d.day,
            d.branch_id,
            BRANCHES.c.name,
            *(sa.func.sum(d[name]).label(name) for name in QUEUE_FIGURES),
        )
        .select_from(QUEUE_DAYS.join(BRANCHES, BRANCHES.c.id == d.branch_id))
        .where(*_days(QUEUE_DAYS), d.branch_id.in_(sa.bindparam("branch_ids", expanding=True)))
        .group_by(d.day, d.branch_id, BRANCHES.c.name)
        .order_by(d.day, BRANCHES.c.name, d.branch_id)
    )


def outages() -> Query:
    """The operators' outages (every tenant's: circuits are the gateway's) that overlap the range's
    instants ``start``/``end``, oldest first, through the index on ``opened_at``."""
    o = OPENINGS.c
    return (
        sa.select(o.operator, o.process, o.opened_at, o.closed_at)
        .where(
            o.opened_at < sa.bindparam("end"),
            sa.or_(o.closed_at.is_(None), o.closed_at >= sa.bindparam("start")),
        )
        .order_by(o.opened_at, o.id)
    )
