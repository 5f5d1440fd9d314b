"""Login-check HTTP views (scope ``login-check``): evaluate, the device registry and the tenant policy.

``POST /devices`` answers 201 with a new binding and 200 with the existing one when the same
number and device are bound again (nothing changes, not even the label). A binding id that is
malformed, unknown or another tenant's is 404. ``PUT /policy`` replaces the policy: an omitted
field takes the gateway default.
"""

from __future__ import annotations

import re
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.appkeys import RUNTIME
from gateway.auth import principal, requires_scope
from gateway.errors import InvalidArgument, NotFound
from gateway.login_check.schemas import (
    DeviceCreate,
    DeviceQuery,
    EvaluateRequest,
    PolicyUpdate,
    assessment_json,
    device_json,
    thresholds_json,
)
from gateway.login_check.service import LoginCheckService
from gateway.wire import describe_validation_error, json_response, read_json

__all__ = ["routes"]

routes = web.RouteTableDef()
_SCOPE = "login-check"
M = TypeVar("M", bound=BaseModel)
_BINDING_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _service(request: web.Request) -> LoginCheckService:
    return request.app[RUNTIME].login_check


def _query(request: web.Request, model: type[M]) -> M:
    if len(request.query) != len(set(request.query)):
        raise InvalidArgument("A query parameter is repeated.")
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise InvalidArgument(describe_validation_error(exc)) from exc


@routes.post("/login-check/v1/evaluate")
@requires_scope(_SCOPE)
async def evaluate(request: web.Request) -> web.Response:
    """Decide allow / challenge / deny for one login attempt."""
    body = await read_json(request, EvaluateRequest)
    result = await _service(request).evaluate(
        tenant_id=principal(request).tenant_id,
        phone_number=body.phoneNumber,
        device_id=body.deviceId,
        one_tap_token=body.oneTapToken,
        operator=body.operator,
        max_sim_swap_age_hours=body.maxSimSwapAge,
        ip=None if body.ip is None else str(body.ip),
    )
    return json_response(assessment_json(result))


@routes.post("/login-check/v1/devices")
@requires_scope(_SCOPE)
async def bind_device(request: web.Request) -> web.Response:
    """Bind a device to a number (201), or answer the existing binding (200)."""
    body = await read_json(request, DeviceCreate)
    device, created = await _service(request).devices.bind(
        tenant_id=principal(request).tenant_id,
        phone_number=body.phoneNumber,
        device_id=body.deviceId,
        label=body.label,
    )
    return json_response(device_json(device), status=201 if created else 200)


@routes.get("/login-check/v1/devices")
@requires_scope(_SCOPE)
async def list_devices(request: web.Request) -> web.Response:
    """The tenant's bindings of one number."""
    query = _query(request, DeviceQuery)
    devices = await _service(request).devices.bindings(
        tenant_id=principal(request).tenant_id, phone_number=query.phoneNumber
    )
    return json_response({"devices": [device_json(d) for d in devices]})


@routes.delete("/login-check/v1/devices/{id}")
@requires_scope(_SCOPE)
async def unbind_device(request: web.Request) -> web.Response:
    """Remove a binding."""
    binding_id = request.match_info["id"]
    if not _BINDING_ID.fullmatch(binding_id):
        raise NotFound()
    await _service(request).devices.unbind(tenant_id=principal(request).tenant_id, binding_id=binding_id)
    return web.Response(status=204)


@routes.get("/login-check/v1/policy")
@requires_scope(_SCOPE)
async def get_policy(request: web.Request) -> web.Response:
    """The tenant's thresholds (the defaults until it sets its own)."""
    thresholds = await _service(request).thresholds.get(principal(request).tenant_id)
    return json_response(thresholds_json(thresholds))


@routes.put("/login-check/v1/policy")
@requires_scope(_SCOPE)
async def put_policy(request: web.Request) -> web.Response:
    """Replace the tenant's thresholds."""
    body = await read_json(request, PolicyUpdate)
    store = _service(request).thresholds
    thresholds = await store.put(principal(request).tenant_id, body.over(store.defaults))
    return json_response(thresholds_json(thresholds))
