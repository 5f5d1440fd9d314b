"""Routes of the operations dashboard (docs/dashboard.md).

``GET /console/dashboard`` is the page: a shell whose script reads the JSON below with the console's
session cookie (without a live session it sends the browser to sign in at ``/console/``); a
teller's live session gets the 403 page instead, as the API would answer.

JSON (``Cache-Control: no-store``), under :func:`~gateway.console.auth.staff_session` for admins
and supervisors (a teller: ``403``; reading counts as activity for the idle timeout), each figure
for ``from``/``to`` (Shanghai days, at most 92; default the last 7):

- ``…/funnel``, ``…/operators``, ``…/identity`` (and ``…/identity.csv``, UTF-8 with a BOM),
  ``…/verifications``, ``…/webhooks``: the tenant's figures, for supervisors too;
- ``…/queues``: an admin sees every branch, a supervisor only the assigned ones;
- ``…/search?q=``: by message id or the last four digits (numbers masked);
- ``POST …/webhooks/retry`` (admins, with the CSRF token): requeue a target's dead letters, written
  to the audit log as ``webhooks.dead_letters_retried``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.appkeys import RUNTIME, STAFF_SESSION
from gateway.auth import public
from gateway.console.auth import COOKIE, staff_member, staff_session
from gateway.console.sessions import SignInRequired
from gateway.dashboard.export import CSV_MEDIA_TYPE, identity_csv
from gateway.dashboard.period import Period
from gateway.dashboard.schemas import (
    RangeQuery,
    RetryBody,
    SearchQuery,
    funnel_out,
    identity_out,
    operators_out,
    queues_out,
    search_out,
    verifications_out,
    webhooks_out,
)
from gateway.dashboard.service import DashboardService
from gateway.errors import InvalidArgument
from gateway.flows.pages import render_page
from gateway.staff import Role, StaffMember
from gateway.wire import describe_validation_error, json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()
_NO_STORE = {"Cache-Control": "no-store"}
_READERS = (Role.ADMIN, Role.SUPERVISOR)
Q = TypeVar("Q", bound=BaseModel)


def _query(request: web.Request, model: type[Q]) -> Q:
    """The query string as ``model``.

    :raises InvalidArgument: a repeated, unknown or malformed parameter.
    """
    if len(request.query) != len(set(request.query)):
        raise InvalidArgument("A query parameter is repeated.")
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise InvalidArgument(describe_validation_error(exc)) from exc


def _period(request: web.Request) -> Period:
    query = _query(request, RangeQuery)
    return Period.parse(query.from_, query.to, now=request.app[RUNTIME].clock.now())


def _dashboard(request: web.Request) -> DashboardService:
    return request.app[RUNTIME].dashboard


def _answer(model: BaseModel, headers: Mapping[str, str] = _NO_STORE) -> web.Response:
    return json_response(model.model_dump(mode="json", by_alias=True), headers=dict(headers))


def _branches(member: StaffMember) -> tuple[str, ...] | None:
    """The branches whose queues the member sees: all (None) for an admin, the assigned ones else."""
    return None if member.role is Role.ADMIN else member.branches


@routes.get("/console/dashboard")
@public
async def dashboard_page(request: web.Request) -> web.Response:
    """The dashboard page; a teller's session gets the 403 page."""
    try:
        live = await request.app[RUNTIME].console.sessions.resolve(request.cookies.get(COOKIE))
    except SignInRequired:
        return render_page("dashboard.html", forbidden=False)
    if live.member.role not in _READERS:
        return render_page("dashboard.html", status=403, forbidden=True)
    return render_page("dashboard.html", forbidden=False)


@routes.get("/console/api/dashboard/funnel")
@staff_session(*_READERS, activity=True)
async def funnel(request: web.Request) -> web.Response:
    """The message funnel per day and template, and failures by reason."""
    period = _period(request)
    figures = await _dashboard(request).funnel(staff_member(request).tenant_id, period)
    return _answer(funnel_out(period, figures))


@routes.get("/console/api/dashboard/operators")
@staff_session(*_READERS, activity=True)
async def operators(request: web.Request) -> web.Response:
    """Delivery rate, report latency, errors and circuit outages per operator."""
    period = _period(request)
    figures = await _dashboard(request).operators(staff_member(request).tenant_id, period)
    return _answer(operators_out(period, figures, request.app[RUNTIME].clock.now()))


@routes.get("/console/api/dashboard/identity")
@staff_session(*_READERS, activity=True)
async def identity(request: web.Request) -> web.Response:
    """One-tap, CAMARA and verification calls per day, operator and capability, billed apart."""
    period = _period(request)
    rows = await _dashboard(request).identity_calls(staff_member(request).tenant_id, period)
    return _answer(identity_out(period, rows))


@routes.get("/console/api/dashboard/identity.csv")
@staff_session(*_READERS, activity=True)
async def identity_export(request: web.Request) -> web.Response:
    """The identity calls as a CSV file (UTF-8 with a BOM, for Excel)."""
    period = _period(request)
    rows = await _dashboard(request).identity_calls(staff_member(request).tenant_id, period)
    name = f"identity-calls-{period.first.isoformat()}-{period.last.isoformat()}.csv"
    return web.Response(
        body=identity_csv(rows),
        headers={
            "Content-Type": CSV_MEDIA_TYPE,
            "Content-Disposition": f'attachment; filename="{name}"',
            **_NO_STORE,
        },
    )


@routes.get("/console/api/dashboard/verifications")
@staff_session(*_READERS, activity=True)
async def verifications(request: web.Request) -> web.Response:
    """Verification requests per day, by status."""
    period = _period(request)
    rows = await _dashboard(request).verifications(staff_member(request).tenant_id, period)
    return _answer(verifications_out(period, rows))


@routes.get("/console/api/dashboard/webhooks")
@staff_session(*_READERS, activity=True)
async def webhooks(request: web.Request) -> web.Response:
    """Webhook deliveries per target: by status, dead letters, the latest error."""
    period = _period(request)
    member = staff_member(request)
    targets = await _dashboard(request).webhooks(member.tenant_id, period)
    return _answer(webhooks_out(period, targets, can_retry=member.role is Role.ADMIN))


@routes.post("/console/api/dashboard/webhooks/retry")
@staff_session(Role.ADMIN)
async def retry_webhooks(request: web.Request) -> web.Response:
    """Send a target's dead letters again (admins)."""
    body = await read_json(request, RetryBody)
    live = request[STAFF_SESSION]
    member = live.member
    requeued = await _dashboard(request).retry_dead_letters(member.tenant_id, body.target)
    await request.app[RUNTIME].console.audit.record(
        tenant_id=member.tenant_id,
        actor=member,
        action="webhooks.dead_letters_retried",
        target=body.target or None,
        detail={"requeued": requeued},
    )
    return json_response({"target": body.target, "requeued": requeued}, headers=_NO_STORE)


@routes.get("/console/api/dashboard/queues")
@staff_session(*_READERS, activity=True)
async def queues(request: web.Request) -> web.Response:
    """Tickets per day and branch: every branch for an admin, the assigned ones for a supervisor."""
    period = _period(request)
    member = staff_member(request)
    rows = await _dashboard(request).queues(member.tenant_id, period, branches=_branches(member))
    return _answer(queues_out(period, rows))


@routes.get("/console/api/dashboard/search")
@staff_session(*_READERS, activity=True)
async def search(request: web.Request) -> web.Response:
    """Messages by id or by the last four digits of the number, masked, newest first."""
    query = _query(request, SearchQuery)
    hits = await _dashboard(request).search(staff_member(request).tenant_id, query.q)
    return _answer(search_out(hits))
