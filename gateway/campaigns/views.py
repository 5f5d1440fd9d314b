"""Routes of the campaign API (``push:send``; reads also with ``push:read``).

``POST /push/v1/campaigns`` (201 with ``Location``), ``POST …/{id}/recipients`` (202 with the
chunk's report; ``text/csv`` or ``application/x-ndjson``, at most :data:`CHUNK_MAX_BYTES` and
:data:`CHUNK_MAX_LINES` lines, else ``413``), ``POST …/{id}/start|pause|resume|cancel`` (200 with
the campaign; a body is ignored), ``GET …/{id}`` and ``GET /push/v1/campaigns`` (newest first, ``limit`` and
``before``). Another tenant's campaign answers 404, before anything about the body is judged.

The recipients' body is read here from the request stream with its own limits, not through the
application's ``MAX_BODY_BYTES``, which is sized for JSON requests.
"""

from __future__ import annotations

from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.appkeys import RUNTIME
from gateway.auth import principal, requires_scope
from gateway.campaigns.schemas import CampaignCreate, CampaignList, campaign_json, report_json, summary_json
from gateway.campaigns.service import CampaignService
from gateway.campaigns.states import Action
from gateway.campaigns.uploads import CSV
from gateway.errors import InvalidArgument, PayloadTooLarge
from gateway.wire import describe_validation_error, json_response, read_json

__all__ = ["CHUNK_MAX_BYTES", "CHUNK_MAX_LINES", "routes"]

routes = web.RouteTableDef()
CHUNK_MAX_BYTES = 4 * 1024 * 1024
"""The largest body of one ``POST …/recipients``."""
CHUNK_MAX_LINES = 20_000
"""The most recipient lines in one ``POST …/recipients`` (a CSV's header not counted)."""
_BASE = "/push/v1/campaigns"
_READ = 64 * 1024
M = TypeVar("M", bound=BaseModel)


def _service(request: web.Request) -> CampaignService:
    return request.app[RUNTIME].campaigns.service


@routes.post(_BASE)
@requires_scope("push:send")
async def create_campaign(request: web.Request) -> web.Response:
    """Create a draft campaign of an approved template."""
    body = await read_json(request, CampaignCreate)
    view = await _service(request).create(principal(request).tenant_id, body.to_domain())
    return json_response(
        {"id": view.summary.id, "status": view.summary.status.value},
        status=201,
        headers={"Location": f"{_BASE}/{view.summary.id}"},
    )


@routes.get(_BASE)
@requires_scope("push:send", "push:read")
async def list_campaigns(request: web.Request) -> web.Response:
    """The tenant's campaigns, newest first."""
    query = _query(request, CampaignList)
    page, cursor = await _service(request).list(
        principal(request).tenant_id, limit=query.limit, before=query.before
    )
    return json_response({"campaigns": [summary_json(s) for s in page], "nextBefore": cursor})


@routes.get(_BASE + "/{id}")
@requires_scope("push:send", "push:read")
async def get_campaign(request: web.Request) -> web.Response:
    """The campaign and its progress."""
    view = await _service(request).get(principal(request).tenant_id, request.match_info["id"])
    return json_response(campaign_json(view))


@routes.post(_BASE + "/{id}/recipients")
@requires_scope("push:send")
async def add_recipients(request: web.Request) -> web.Response:
    """Add a chunk of recipients; the report says what became of each line."""
    media_type = request.content_type
    body = await _chunk(request, header=media_type == CSV)
    report = await _service(request).add_recipients(
        principal(request).tenant_id, request.match_info["id"], body, media_type
    )
    return json_response(report_json(report), status=202)


@routes.post(_BASE + "/{id}/start")
@requires_scope("push:send")
async def start_campaign(request: web.Request) -> web.Response:
    """Start sending (or wait for ``scheduledAt``); 409 unless draft, or without recipients."""
    return await _act(request, Action.START)


@routes.post(_BASE + "/{id}/pause")
@requires_scope("push:send")
async def pause_campaign(request: web.Request) -> web.Response:
    """Stop sending after the round in flight; 409 unless scheduled or running."""
    return await _act(request, Action.PAUSE)


@routes.post(_BASE + "/{id}/resume")
@requires_scope("push:send")
async def resume_campaign(request: web.Request) -> web.Response:
    """Send again; 409 unless paused."""
    return await _act(request, Action.RESUME)


@routes.post(_BASE + "/{id}/cancel")
@requires_scope("push:send")
async def cancel_campaign(request: web.Request) -> web.Response:
    """End the campaign: recipients not yet taken are never sent; 409 once it has ended."""
    return await _act(request, Action.CANCEL)


async def _act(request: web.Request, action: Action) -> web.Response:
    view = await _service(request).act(principal(request).tenant_id, request.match_info["id"], action)
    return json_response(campaign_json(view))


async def _chunk(request: web.Request, *, header: bool) -> bytes:
    """The body, refused with ``413`` past :data:`CHUNK_MAX_BYTES` or :data:`CHUNK_MAX_LINES`."""
    too_large = PayloadTooLarge(
        f"One request carries at most {CHUNK_MAX_LINES} recipients and {CHUNK_MAX_BYTES} bytes; "
        "split the list into several requests."
    )
    if request.content_length is not None and request.content_length > CHUNK_MAX_BYTES:
        raise too_large
    parts: list[bytes] = []
    size = 0
    while part := await request.content.read(_READ):
        size += len(part)
        if size > CHUNK_MAX_BYTES:
            raise too_large
        parts.append(part)
    body = b"".join(parts)
    most = CHUNK_MAX_LINES + header
    if body.count(b"\n") >= most and _lines(body) > most:
        raise too_large
    return body


def _lines(body: bytes) -> int:
    return sum(1 for line in body.splitlines() if line.strip())


def _query(request: web.Request, model: type[M]) -> M:
    if len(request.query) != len(set(request.query)):
        raise InvalidArgument("A query parameter is repeated.")
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as exc:
        raise InvalidArgument(describe_validation_error(exc)) from exc
