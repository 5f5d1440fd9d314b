"""Template HTTP views (contract §6): create, read, install a built-in; the admin's review decision."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from gateway.appkeys import RUNTIME
from gateway.auth import admin, principal, requires_scope
from gateway.templates.rendering import estimate
from gateway.templates.schemas import Approval, BuiltinInstall, Rejection, TemplateCreate
from gateway.templates.spec import Template
from gateway.wire import json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()

ESTIMATE_CODE_CHARS = 22
"""Short-link code length assumed by the segment estimate (22 base62 characters carry 128 bits)."""


def _timestamp(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z") if moment is not None else None


def _created(template: Template) -> web.Response:
    return json_response(
        {"id": template.id, "status": template.status.value},
        status=201,
        headers={"Location": f"/push/v1/templates/{template.id}"},
    )


def _describe(template: Template, issuer: str) -> dict[str, object]:
    """The template as ``GET`` shows it; ``flow`` and ``quickApp`` only where the category has a link."""
    spec = template.spec
    size = estimate(spec, len(f"{issuer}/l/") + ESTIMATE_CODE_CHARS)
    body: dict[str, object] = {
        "id": template.id,
        "name": spec.name,
        "category": spec.category.value,
        "signature": spec.signature,
        "text": spec.text,
    }
    if spec.flow is not None:
        body["flow"] = spec.flow.value
    if spec.quick_app is not None:
        body["quickApp"] = {"package": spec.quick_app.package, "page": spec.quick_app.page}
    body["params"] = {n: {"type": p.type.value, "required": p.required} for n, p in spec.params.items()}
    body["status"] = template.status.value
    body["segmentsEstimate"] = {
        "segments": size.segments,
        "encoding": size.encoding.value,
        "units": size.units,
    }
    body["createdAt"] = _timestamp(template.created_at)
    if template.decided_at is not None:
        body["decidedAt"] = _timestamp(template.decided_at)
    if template.reason is not None:
        body["reason"] = template.reason
    if template.builtin is not None:
        body["builtin"] = template.builtin
    return body


@routes.post("/push/v1/templates")
@requires_scope("templates:write")
async def create_template(request: web.Request) -> web.Response:
    """Submit a template for review (approved at once for sandbox tenants)."""
    body = await read_json(request, TemplateCreate)
    template = await request.app[RUNTIME].templates.create(principal(request).tenant_id, body.to_spec())
    return _created(template)


@routes.post("/push/v1/templates/builtin/{name}")
@requires_scope("templates:write")
async def install_builtin(request: web.Request) -> web.Response:
    """Create a template from a built-in definition with the tenant's signature."""
    body = await read_json(request, BuiltinInstall)
    template = await request.app[RUNTIME].templates.install_builtin(
        principal(request).tenant_id,
        request.match_info["name"],
        signature=body.signature,
        quick_app=body.quickApp,
    )
    return _created(template)


@routes.get("/push/v1/templates/{id}")
@requires_scope("templates:write", "push:send", "push:read")
async def get_template(request: web.Request) -> web.Response:
    """The tenant's template with its review state and a segment estimate."""
    runtime = request.app[RUNTIME]
    template = await runtime.templates.get(principal(request).tenant_id, request.match_info["id"])
    return json_response(_describe(template, runtime.settings.issuer))


@routes.post("/admin/templates/{id}/approve")
@admin
async def approve_template(request: web.Request) -> web.Response:
    """Approve a template (no body, or ``{}``)."""
    if request.body_exists:
        await read_json(request, Approval)
    template = await request.app[RUNTIME].templates.approve(request.match_info["id"])
    return json_response({"id": template.id, "status": template.status.value})


@routes.post("/admin/templates/{id}/reject")
@admin
async def reject_template(request: web.Request) -> web.Response:
    """Reject a template with ``{"reason"}``; the tenant sees the reason."""
    body = await read_json(request, Rejection)
    template = await request.app[RUNTIME].templates.reject(request.match_info["id"], body.reason)
    return json_response({"id": template.id, "status": template.status.value, "reason": template.reason})
