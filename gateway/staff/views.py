"""The admin staff API (issue 21) with the bootstrap admin bearer: a tenant's staff accounts and its
audit log.

``POST /admin/tenants/{tenant_id}/staff`` answers ``201`` with the member (never the password);
the member routes answer the member as it is after the action; an unknown tenant, and an unknown or
another tenant's staff id, answer ``404 NOT_FOUND``. ``GET /admin/tenants/{tenant_id}/audit`` pages
newest first with ``limit`` and ``before`` (the previous page's ``nextBefore``).
"""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.appkeys import RUNTIME
from gateway.auth import admin
from gateway.errors import InvalidArgument
from gateway.staff.schemas import (
    AuditQuery,
    NoBody,
    PasswordReset,
    SsoSubject,
    StaffCreate,
    StaffUpdate,
    audit_json,
    member_json,
)
from gateway.staff.service import StaffService
from gateway.wire import describe_validation_error, json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()
M = TypeVar("M", bound=BaseModel)
_STAFF = "/admin/tenants/{tenant_id}/staff"
_MEMBER = _STAFF + "/{staff_id}"


def _staff(request: web.Request) -> StaffService:
    return request.app[RUNTIME].staff


def _ids(request: web.Request) -> tuple[str, str]:
    return request.match_info["tenant_id"], request.match_info["staff_id"]


async def _no_body(request: web.Request) -> None:
    if request.body_exists:
        await read_json(request, NoBody)


def _query(request: web.Request, model: type[M]) -> M:
    if len(request.query) != len(set(request.query)):
        raise InvalidArgument("A query parameter is repeated.")
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise InvalidArgument(describe_validation_error(exc)) from exc


@routes.post(_STAFF)
@admin
async def create_member(request: web.Request) -> web.Response:
    """Create a staff account of the tenant."""
    body = await read_json(request, StaffCreate)
    member = await _staff(request).create(
        request.match_info["tenant_id"],
        username=body.username,
        password=body.password,
        role=body.role,
        branches=body.branches,
    )
    return json_response(member_json(member), status=201)


@routes.get(_STAFF)
@admin
async def list_members(request: web.Request) -> web.Response:
    """The tenant's staff accounts, disabled ones included."""
    members = await _staff(request).list(request.match_info["tenant_id"])
    return json_response({"staff": [member_json(m) for m in members]})


@routes.patch(_MEMBER)
@admin
async def update_member(request: web.Request) -> web.Response:
    """Change a member's role and/or branches."""
    body = await read_json(request, StaffUpdate)
    tenant_id, staff_id = _ids(request)
    member = await _staff(request).update(tenant_id, staff_id, role=body.role, branches=body.branches)
    return json_response(member_json(member))


@routes.post(_MEMBER + "/disable")
@admin
async def disable_member(request: web.Request) -> web.Response:
    """Refuse the member's sign-in from now on."""
    await _no_body(request)
    member = await _staff(request).disable(*_ids(request))
    return json_response(member_json(member))


@routes.post(_MEMBER + "/enable")
@admin
async def enable_member(request: web.Request) -> web.Response:
    """Let a disabled member sign in again."""
    await _no_body(request)
    member = await _staff(request).enable(*_ids(request))
    return json_response(member_json(member))


@routes.post(_MEMBER + "/reset-password")
@admin
async def reset_password(request: web.Request) -> web.Response:
    """Give the member a new password."""
    body = await read_json(request, PasswordReset)
    tenant_id, staff_id = _ids(request)
    member = await _staff(request).reset_password(tenant_id, staff_id, body.password)
    return json_response(member_json(member))


@routes.post(_MEMBER + "/reset-totp")
@admin
async def reset_totp(request: web.Request) -> web.Response:
    """Remove the member's TOTP second factor."""
    await _no_body(request)
    member = await _staff(request).reset_totp(*_ids(request))
    return json_response(member_json(member))


@routes.put(_MEMBER + "/sso-subject")
@admin
async def link_sso(request: web.Request) -> web.Response:
    """Link the member to their subject (``sub``) at the tenant's identity provider."""
    body = await read_json(request, SsoSubject)
    member = await _staff(request).link_sso(*_ids(request), body.subject)
    return json_response(member_json(member))


@routes.delete(_MEMBER + "/sso-subject")
@admin
async def unlink_sso(request: web.Request) -> web.Response:
    """Remove the member's link to the identity provider: single sign-on no longer finds them."""
    member = await _staff(request).link_sso(*_ids(request), None)
    return json_response(member_json(member))


@routes.get("/admin/tenants/{tenant_id}/audit")
@admin
async def audit_log(request: web.Request) -> web.Response:
    """The tenant's audit log, newest first."""
    query = _query(request, AuditQuery)
    tenant_id = request.match_info["tenant_id"]
    await _staff(request).tenant_name(tenant_id)
    entries = await request.app[RUNTIME].audit.entries(tenant_id, limit=query.limit, before=query.before)
    next_before = entries[-1].id if len(entries) == query.limit else None
    return json_response({"entries": [audit_json(e) for e in entries], "nextBefore": next_before})
