"""Routes of the console (docs/console.md).

Pages (HTML, :func:`~gateway.flows.pages.security_headers`, scripts from ``/flows/static`` only):
``GET /console/`` (sign-in, then the member's branches), ``GET /console/branches/{id}`` (the desk)
and ``GET /console/security`` (the member's two-step verification; its CSP also allows ``data:``
images, for the QR code). All are public shells whose script signs in and calls the JSON API; the
desk answers the 404 page when the browser's live session belongs to a member who may not serve
the branch, or to another tenant, or when the id is not a branch id at all.

JSON (``Cache-Control: no-store``): ``POST /console/api/session`` signs in (public, same-origin
only), every other ``/console/api`` route takes the session cookie under
:func:`~gateway.console.auth.staff_session`; ``GET /console/api/audit`` is for admins;
``POST /console/api/totp/enrolment`` and ``…/totp/confirm`` enrol the member's own TOTP.
"""

from __future__ import annotations

from aiohttp import web
from pydantic import ValidationError

from gateway.appkeys import RUNTIME
from gateway.auth import public
from gateway.auth_throttle import current_address
from gateway.console.auth import (
    COOKIE,
    check_same_origin,
    clear_cookie,
    live_session,
    set_cookie,
    staff_member,
    staff_session,
)
from gateway.console.schemas import (
    ConsoleTicket,
    CounterBody,
    SignInBody,
    TotpBeginBody,
    TotpConfirmBody,
    branches_json,
    calls_json,
    counter_ticket_json,
    session_json,
    staff_json,
    totp_enrolment_json,
)
from gateway.console.sessions import SignInRequired
from gateway.console.sso_pages import SSO_ERRORS
from gateway.console.sso_views import well_formed_tenant
from gateway.errors import InvalidArgument
from gateway.flows.branches import well_formed_id
from gateway.flows.pages import render_page, security_headers
from gateway.flows.schemas import called_json, issued_json, queue_json
from gateway.staff import Role
from gateway.staff.schemas import AuditQuery, audit_json
from gateway.wire import describe_validation_error, json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()
_NO_STORE = {"Cache-Control": "no-store"}


@routes.get("/console")
@public
async def console_root(request: web.Request) -> web.Response:
    """``/console`` without its slash goes to the sign-in page."""
    return web.Response(status=302, headers={"Location": "/console/", **_NO_STORE})


@routes.get("/console/")
@public
async def home_page(request: web.Request) -> web.Response:
    """The sign-in page; once signed in, the member's branches. ``?tenant=<id>`` (the bank's own
    link) adds single sign-on when the tenant has it; ``sso_error`` says why one failed."""
    tenant = request.query.get("tenant")
    sso = request.app[RUNTIME].console.sso
    sso_tenant = tenant if well_formed_tenant(tenant) and await sso.configs.enabled(str(tenant)) else None
    error = request.query.get("sso_error")
    return render_page(
        "console_home.html", sso_tenant=sso_tenant, sso_error=SSO_ERRORS.get(error) if error else None
    )


@routes.get("/console/branches/{id}")
@public
async def desk_page(request: web.Request) -> web.Response:
    """The teller desk of a branch (its data comes from the console API with the session cookie)."""
    branch_id = request.match_info["id"]
    if not well_formed_id(branch_id):
        return render_page("gone.html", status=404, reason="branch")
    console = request.app[RUNTIME].console
    try:
        live = await console.sessions.resolve(request.cookies.get(COOKIE))
    except SignInRequired:
        return render_page("console.html", branch_id=branch_id)
    if not await console.desk.serves(live.member, branch_id):
        return render_page("gone.html", status=404, reason="branch")
    return render_page("console.html", branch_id=branch_id)


@routes.get("/console/security")
@public
async def security_page(request: web.Request) -> web.Response:
    """Two-step verification: the member's TOTP, on or to enrol (the QR code is a ``data:`` image)."""
    return render_page("console_security.html", headers=security_headers(images=("data:",)))


@routes.post("/console/api/session")
@public
async def sign_in(request: web.Request) -> web.Response:
    """Sign in: a session cookie and the session's CSRF token."""
    check_same_origin(request)
    body = await read_json(request, SignInBody)
    runtime = request.app[RUNTIME]
    started = await runtime.console.sign_in.sign_in(
        body.username,
        body.password,
        body.totp,
        address=current_address(),
        replacing=request.cookies.get(COOKIE),
    )
    answer = session_json(started.session, runtime.console.sessions.timeouts, runtime.clock.now())
    response = json_response(answer, headers=_NO_STORE)
    set_cookie(response, started.token, secure=runtime.console.secure_cookie)
    return response


@routes.get("/console/api/session")
@staff_session(activity=True)
async def who_am_i(request: web.Request) -> web.Response:
    """The signed-in member, the CSRF token and the session's ends (the idle end moves)."""
    runtime = request.app[RUNTIME]
    answer = session_json(live_session(request), runtime.console.sessions.timeouts, runtime.clock.now())
    return json_response(answer, headers=_NO_STORE)


@routes.delete("/console/api/session")
@staff_session()
async def sign_out(request: web.Request) -> web.Response:
    """Sign out: the session ends on the server and the cookie is cleared."""
    console = request.app[RUNTIME].console
    await console.sign_in.sign_out(live_session(request))
    response = web.Response(status=204, headers=_NO_STORE)
    clear_cookie(response, secure=console.secure_cookie)
    return response


@routes.get("/console/api/branches")
@staff_session()
async def my_branches(request: web.Request) -> web.Response:
    """The branches the member serves (an admin: all of the tenant's)."""
    branches = await request.app[RUNTIME].console.desk.branches_of(staff_member(request))
    return json_response(branches_json(branches), headers=_NO_STORE)


@routes.get("/console/api/branches/{id}/queue")
@staff_session()
async def desk_queue(request: web.Request) -> web.Response:
    """The branch's waiting tickets (numbers masked) and recent calls."""
    view = await request.app[RUNTIME].console.desk.queue(staff_member(request), request.match_info["id"])
    return json_response(queue_json(view), headers=_NO_STORE)


@routes.get("/console/api/branches/{id}/calls")
@staff_session()
async def desk_calls(request: web.Request) -> web.Response:
    """The day's calls, newest first."""
    calls = await request.app[RUNTIME].console.desk.calls(staff_member(request), request.match_info["id"])
    return json_response(calls_json(calls), headers=_NO_STORE)


@routes.post("/console/api/branches/{id}/tickets")
@staff_session()
async def desk_issue(request: web.Request) -> web.Response:
    """Issue a ticket to a number typed at the desk and send it by SMS."""
    body = await read_json(request, ConsoleTicket)
    issued = await request.app[RUNTIME].console.desk.issue(
        staff_member(request), request.match_info["id"], phone=body.phoneNumber, service=body.service
    )
    return json_response(issued_json(issued), status=201, headers=_NO_STORE)


@routes.post("/console/api/branches/{id}/call-next")
@staff_session()
async def desk_call_next(request: web.Request) -> web.Response:
    """Call the next waiting customer to the counter."""
    body = await read_json(request, CounterBody)
    called = await request.app[RUNTIME].console.desk.call_next(
        staff_member(request), request.match_info["id"], counter=str(body.counter)
    )
    return json_response(called_json(called), headers=_NO_STORE)


@routes.post("/console/api/branches/{id}/recall")
@staff_session()
async def desk_recall(request: web.Request) -> web.Response:
    """Announce again the ticket called to the counter."""
    body = await read_json(request, CounterBody)
    recalled = await request.app[RUNTIME].console.desk.recall(
        staff_member(request), request.match_info["id"], counter=str(body.counter)
    )
    return json_response(counter_ticket_json(recalled), headers=_NO_STORE)


@routes.post("/console/api/branches/{id}/no-show")
@staff_session()
async def desk_no_show(request: web.Request) -> web.Response:
    """Mark the ticket called to the counter as not come; the counter is free again."""
    body = await read_json(request, CounterBody)
    missed = await request.app[RUNTIME].console.desk.no_show(
        staff_member(request), request.match_info["id"], counter=str(body.counter)
    )
    return json_response(counter_ticket_json(missed), headers=_NO_STORE)


@routes.get("/console/api/audit")
@staff_session(Role.ADMIN)
async def audit_log(request: web.Request) -> web.Response:
    """The tenant's audit entries, newest first (admins)."""
    if len(request.query) != len(set(request.query)):
        raise InvalidArgument("A query parameter is repeated.")
    try:
        query = AuditQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        raise InvalidArgument(describe_validation_error(exc)) from exc
    member = staff_member(request)
    entries = await request.app[RUNTIME].console.audit.entries(
        member.tenant_id, limit=query.limit, before=query.before
    )
    next_before = entries[-1].id if len(entries) == query.limit else None
    answer = {"entries": [audit_json(e) for e in entries], "nextBefore": next_before}
    return json_response(answer, headers=_NO_STORE)


@routes.post("/console/api/totp/enrolment")
@staff_session()
async def totp_begin(request: web.Request) -> web.Response:
    """Begin (or begin again) the member's TOTP enrolment, the password confirmed: the secret, its
    key URI and QR code."""
    body = await read_json(request, TotpBeginBody)
    console = request.app[RUNTIME].console
    member = staff_member(request)
    await console.sign_in.confirm_password(member, body.password, address=current_address())
    enrolment = await console.totp.begin_totp(member.id)
    return json_response(totp_enrolment_json(enrolment), headers=_NO_STORE)


@routes.post("/console/api/totp/confirm")
@staff_session()
async def totp_confirm(request: web.Request) -> web.Response:
    """Put the begun enrolment in force with the authenticator's current code."""
    body = await read_json(request, TotpConfirmBody)
    member = await request.app[RUNTIME].console.totp.confirm_totp(staff_member(request).id, body.code)
    return json_response(staff_json(member), headers=_NO_STORE)
