"""Routes of links and flows (contract §6).

Pages (public, HTML, :func:`~gateway.flows.pages.security_headers`): ``GET /l/{code}`` (the
landing page; 404 and 410 pages for unknown and expired links; reads only) and ``GET
/flows/static/{name}`` (the scripts and styles of these pages and of the console's,
:mod:`gateway.console.views`).

JSON: ``POST /push/v1/links/{code}/redeem`` is public (the holder proves the number with the
operator token; every answer to a request without a valid device cookie sets one,
:mod:`gateway.flows.attempts`); ``/flows/v1/*`` take a flow session (``Authorization: Bearer
fls_…``, policy ``flow-session``); ``/push/v1/branches*`` take an access token with
``branches:manage``; ``GET /push/v1/messages/{id}/location`` (the location shared through a
message's link) ``push:read``. Flow answers carry ``Cache-Control: no-store`` and
``Referrer-Policy: no-referrer``.
"""

from __future__ import annotations

import functools
from http.cookies import SimpleCookie
from urllib.parse import quote

from aiohttp import web

from gateway import auth
from gateway.appkeys import RUNTIME
from gateway.auth import Handler, principal, public, requires_scope
from gateway.auth_throttle import current_address
from gateway.console.auth import secure_cookie
from gateway.errors import ApiError, LinkExpired, NotFound
from gateway.flows.attempts import (
    DEVICE_COOKIE,
    DEVICE_COOKIE_PATH,
    Caller,
    new_device_id,
    valid_device_id,
)
from gateway.flows.pages import origin_of, render_page, security_headers, static_file
from gateway.flows.redemption import Landing
from gateway.flows.schemas import (
    BranchCreate,
    CallNext,
    LocationShare,
    RedeemBody,
    TicketCreate,
    branch_json,
    called_json,
    issued_json,
    location_json,
    queue_json,
    redeemed_json,
    shared_json,
    ticket_json,
)
from gateway.flows.sessions import FlowContext
from gateway.templates import Flow
from gateway.wire import json_response, read_json

__all__ = ["deep_link", "routes"]

routes = web.RouteTableDef()
_FLOW_CONTEXT: web.RequestKey[FlowContext] = web.RequestKey("flow_context")
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_DEVICE_COOKIE_DAYS = 30


def requires_flow_session(handler: Handler) -> Handler:
    """Require a live flow session bearer; the context is ``request[_FLOW_CONTEXT]``."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        request[_FLOW_CONTEXT] = await request.app[RUNTIME].flows.sessions.resolve(auth.bearer_token(request))
        return await handler(request)

    return auth.declare_policy(wrapped, "flow-session")


def deep_link(landing: Landing) -> str:
    """``hap://app/{package}/{page}?ticket={code}``: the code is the quick app's opaque ticket
    (useless without the holder's operator token, expires with the link)."""
    app = landing.quick_app
    return f"hap://app/{quote(app.package, safe='.')}/{quote(app.page, safe='/')}?ticket={landing.code}"


@routes.get("/l/{code}")
@public
async def landing(request: web.Request) -> web.Response:
    """The landing page of a push link: tries the quick app, else runs the flow as H5."""
    try:
        page = await request.app[RUNTIME].flows.redemption.preview(request.match_info["code"])
    except NotFound:
        return render_page("gone.html", status=404, reason="missing")
    except LinkExpired:
        return render_page("gone.html", status=410, reason="expired")
    origins = [origin_of(url) for url in (page.h5_url, *(sdk.h5_url for sdk in page.others))]
    headers = security_headers(
        connect=list(dict.fromkeys(origin for origin in origins if origin)),
        geolocation=page.flow is Flow.CLAIM_LOCATION,
    )
    return render_page(
        "landing.html",
        headers=headers,
        page=page,
        deep_link=deep_link(page),
        expires_at=page.expires_at.isoformat(timespec="seconds"),
    )


def _device_cookie(device: str, *, secure: bool) -> str:
    """The ``Set-Cookie`` value giving the browser its device id (sent back to redemptions only)."""
    cookie: SimpleCookie = SimpleCookie()
    cookie[DEVICE_COOKIE] = device
    morsel = cookie[DEVICE_COOKIE]
    morsel["path"] = DEVICE_COOKIE_PATH
    morsel["max-age"] = str(_DEVICE_COOKIE_DAYS * 86_400)
    morsel["httponly"] = True
    morsel["samesite"] = "Strict"
    morsel["secure"] = secure
    return morsel.OutputString()


@routes.post("/push/v1/links/{code}/redeem")
@public
async def redeem(request: web.Request) -> web.Response:
    """Redeem a link with an operator token from the opening device."""
    runtime = request.app[RUNTIME]
    device = request.cookies.get(DEVICE_COOKIE)
    issued: dict[str, str] = {}
    if device is None or not valid_device_id(device):
        device = new_device_id()
        issued["Set-Cookie"] = _device_cookie(device, secure=secure_cookie(runtime.settings))
    try:
        body = await read_json(request, RedeemBody)
        redeemed = await runtime.flows.redemption.redeem(
            code=request.match_info["code"],
            token=body.token,
            operator=body.operator,
            channel=body.channel,
            caller=Caller(device, current_address()),
        )
    except ApiError as exc:
        exc.headers.update(issued)
        raise
    return json_response(redeemed_json(redeemed), headers={**_NO_STORE, **issued})


@routes.get("/push/v1/messages/{id}/location")
@requires_scope("push:read")
async def shared_location(request: web.Request) -> web.Response:
    """The location the holder shared through the message's link (404 while none is)."""
    stored = await request.app[RUNTIME].flows.claim_location.location_of(
        principal(request).tenant_id, request.match_info["id"]
    )
    return json_response(location_json(stored), headers=_NO_STORE)


@routes.post("/flows/v1/claim-location")
@requires_flow_session
async def share_location(request: web.Request) -> web.Response:
    """The holder shares the device's position with the insurer."""
    body = await read_json(request, LocationShare)
    outcome = await request.app[RUNTIME].flows.claim_location.share(request[_FLOW_CONTEXT], body.to_domain())
    return json_response(shared_json(outcome), headers=_NO_STORE)


@routes.post("/flows/v1/claim-location/decline")
@requires_flow_session
async def decline_location(request: web.Request) -> web.Response:
    """The holder declines to share the position."""
    outcome = await request.app[RUNTIME].flows.claim_location.decline(request[_FLOW_CONTEXT])
    return json_response(shared_json(outcome), headers=_NO_STORE)


@routes.get("/flows/v1/branch-queue")
@requires_flow_session
async def my_ticket(request: web.Request) -> web.Response:
    """The holder's ticket: status, position, estimated wait."""
    view = await request.app[RUNTIME].flows.branches.ticket_of(request[_FLOW_CONTEXT])
    return json_response(ticket_json(view), headers=_NO_STORE)


@routes.post("/flows/v1/branch-queue/cancel")
@requires_flow_session
async def cancel_ticket(request: web.Request) -> web.Response:
    """The holder leaves the queue."""
    view = await request.app[RUNTIME].flows.branches.cancel(request[_FLOW_CONTEXT])
    return json_response(ticket_json(view), headers=_NO_STORE)


@routes.post("/push/v1/branches")
@requires_scope("branches:manage")
async def create_branch(request: web.Request) -> web.Response:
    """Create a branch with its ticket (and call) template."""
    body = await read_json(request, BranchCreate)
    view = await request.app[RUNTIME].flows.branches.create(
        principal(request).tenant_id,
        name=body.name,
        template_id=body.templateId,
        call_template_id=body.callTemplateId,
    )
    return json_response(branch_json(view), status=201, headers={"Location": f"/push/v1/branches/{view.id}"})


@routes.get("/push/v1/branches/{id}")
@requires_scope("branches:manage")
async def get_branch(request: web.Request) -> web.Response:
    """The tenant's branch."""
    view = await request.app[RUNTIME].flows.branches.get(
        principal(request).tenant_id, request.match_info["id"]
    )
    return json_response(branch_json(view))


@routes.post("/push/v1/branches/{id}/tickets")
@requires_scope("branches:manage")
async def issue_ticket(request: web.Request) -> web.Response:
    """Issue a ticket and send it by SMS."""
    body = await read_json(request, TicketCreate)
    issued = await request.app[RUNTIME].flows.branches.issue_ticket(
        principal(request).tenant_id, request.match_info["id"], phone=body.phoneNumber, service=body.service
    )
    return json_response(issued_json(issued), status=201)


@routes.post("/push/v1/branches/{id}/call-next")
@requires_scope("branches:manage")
async def call_next(request: web.Request) -> web.Response:
    """Call the next waiting customer to a counter."""
    body = await read_json(request, CallNext)
    called = await request.app[RUNTIME].flows.branches.call_next(
        principal(request).tenant_id, request.match_info["id"], counter=str(body.counter)
    )
    return json_response(called_json(called))


@routes.get("/push/v1/branches/{id}/queue")
@requires_scope("branches:manage")
async def branch_queue(request: web.Request) -> web.Response:
    """The branch's waiting tickets and recent calls (numbers masked)."""
    view = await request.app[RUNTIME].flows.branches.queue(
        principal(request).tenant_id, request.match_info["id"]
    )
    return json_response(queue_json(view))


@routes.get("/flows/static/{name}")
@public
async def static(request: web.Request) -> web.Response:
    """Scripts and styles of the pages (an allow-list)."""
    return static_file(request.match_info["name"])
