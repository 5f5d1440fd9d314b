"""Routes of the verification API (scope ``verify``) and the phone's check page.

JSON: ``POST /verify/v1/requests`` (202 with ``Location``), ``GET /verify/v1/requests/{id}``,
``POST …/check`` (200, or 400 ``INVALID_CODE`` with ``attemptsLeft``), ``POST …/next`` and
``DELETE …`` (204). Another tenant's request answers 404.

Public: ``GET /verify/v1/check/{token}`` is the check URL the phone opens (a 302 to its operator
for a network step, else an HTML page: a code form while an SMS step runs, the result once the
request has ended); ``POST`` to it submits the code typed on that page. ``GET
/verify/v1/callback/{operator}`` is where the operator returns the browser (302 back to the check
URL). Pages carry :func:`~gateway.flows.pages.security_headers` with forms allowed to post to
the gateway itself only.
"""

from __future__ import annotations

from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.auth import principal, public, requires_scope
from gateway.errors import InvalidArgument, NotFound
from gateway.flows.pages import render_page, security_headers
from gateway.verify.schemas import CodeBody, RequestCreate, request_json
from gateway.verify.service import CheckPage
from gateway.verify.workflow import Channel, Status
from gateway.wire import form_fields, json_response, multi_params, read_json

__all__ = ["code_form", "routes"]

routes = web.RouteTableDef()
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_MAX_CODE_FORM = 64


@routes.post("/verify/v1/requests")
@requires_scope("verify")
async def create_request(request: web.Request) -> web.Response:
    """Start a verification workflow for a number."""
    body = await read_json(request, RequestCreate)
    view = await request.app[RUNTIME].verify.service.create(principal(request).tenant_id, body.to_domain())
    answer = {"requestId": view.id, **({"checkUrl": view.check_url} if view.check_url else {})}
    return json_response(answer, status=202, headers={"Location": f"/verify/v1/requests/{view.id}"})


@routes.get("/verify/v1/requests/{id}")
@requires_scope("verify")
async def get_request(request: web.Request) -> web.Response:
    """The request's status and per-step outcomes."""
    view = await request.app[RUNTIME].verify.service.get(
        principal(request).tenant_id, request.match_info["id"]
    )
    return json_response(request_json(view), headers=_NO_STORE)


@routes.post("/verify/v1/requests/{id}/check")
@requires_scope("verify")
async def check_code(request: web.Request) -> web.Response:
    """Check the code the customer typed in the bank's app."""
    body = await read_json(request, CodeBody)
    view = await request.app[RUNTIME].verify.service.check(
        principal(request).tenant_id, request.match_info["id"], body.code
    )
    return json_response(request_json(view), headers=_NO_STORE)


@routes.post("/verify/v1/requests/{id}/next")
@requires_scope("verify")
async def next_step(request: web.Request) -> web.Response:
    """Skip to the next step (or send a new code on the last SMS step)."""
    view = await request.app[RUNTIME].verify.service.next(
        principal(request).tenant_id, request.match_info["id"]
    )
    return json_response(request_json(view), headers=_NO_STORE)


@routes.delete("/verify/v1/requests/{id}")
@requires_scope("verify")
async def cancel_request(request: web.Request) -> web.Response:
    """Cancel a pending request."""
    await request.app[RUNTIME].verify.service.cancel(principal(request).tenant_id, request.match_info["id"])
    return web.Response(status=204)


@routes.get("/verify/v1/check/{token}")
@public
async def open_check(request: web.Request) -> web.Response:
    """The phone opened the check URL."""
    try:
        page = await request.app[RUNTIME].verify.service.open_check(
            request.match_info["token"],
            peer=request.remote,
            forwarded_for=request.headers.get("X-Forwarded-For"),
        )
    except NotFound:
        return render_page("gone.html", status=404, reason="missing")
    if page.redirect is not None:
        return web.Response(status=302, headers={"Location": page.redirect, **_NO_STORE})
    return _render(page)


@routes.post("/verify/v1/check/{token}")
@public
async def submit_code(request: web.Request) -> web.Response:
    """The holder typed the code on the check page."""
    form = await form_fields(request) if request.content_type == "application/x-www-form-urlencoded" else {}
    code = form.get("code")
    if not isinstance(code, str) or len(code) > _MAX_CODE_FORM:
        raise InvalidArgument("Send the code as the form field code.")
    try:
        page = await request.app[RUNTIME].verify.service.submit_code(
            request.match_info["token"], code.strip()
        )
    except NotFound:
        return render_page("gone.html", status=404, reason="missing")
    return _render(page)


@routes.get("/verify/v1/callback/{operator}")
@public
async def network_callback(request: web.Request) -> web.Response:
    """The operator's return from a network step: back to the check URL (a 404 page when the step is
    no longer waiting, e.g. its time ran out)."""
    try:
        location = await request.app[RUNTIME].verify.service.finish_network(
            request.match_info["operator"], multi_params(request.query)
        )
    except NotFound:
        return render_page("gone.html", status=404, reason="missing")
    return web.Response(status=302, headers={"Location": location, **_NO_STORE})


def code_form(*, attempts_left: int | None, code_length: int = 6) -> web.Response:
    """The code form alone (also the authorization endpoint's code-entry page); with
    ``attempts_left`` it says the last code was wrong."""
    wrong = attempts_left is not None
    return _render(CheckPage(None, Status.PENDING, Channel.SMS, code_length, attempts_left or 0, wrong))


def _render(page: CheckPage) -> web.Response:
    return render_page("verify.html", headers=security_headers(form_action=True), page=page)
