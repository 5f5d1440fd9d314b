"""The gateway's outermost middleware: correlator, error rendering and the access log.

- ``x-correlator``: validated against the CAMARA pattern (a bad value is 400 INVALID_ARGUMENT
  and is not echoed), echoed on every response, generated when absent, bound to every log line.
- Errors: :class:`~gateway.errors.ApiError` renders the CAMARA body; ``OAuthError`` the RFC
  6749 body; aiohttp's own HTTP errors (404, 405, 413) get the CAMARA body too; a database that
  is locked (SQLite under write contention) or unreachable, a connection lost mid-statement
  (a restarted PostgreSQL), or a connection pool that stays exhausted past its timeout, is 503
  UNAVAILABLE with ``Retry-After: 1`` (the transaction was rolled back: nothing was accepted);
  anything else is logged and answered as a generic 500 without details.
- Access log and ``gateway_request_seconds``: method, route template (never the raw path or
  query), status, duration.
"""

from __future__ import annotations

import re
import time

import sqlalchemy.exc
import structlog
import uuid_utils
from aiohttp import web

from gateway.auth import Handler
from gateway.errors import ApiError, InvalidArgument, OAuthError, Unavailable, from_http_status
from gateway.metrics import REQUEST_SECONDS

__all__ = ["CORRELATOR", "gateway_middleware"]

CORRELATOR = "x-correlator"
_CORRELATOR_RE = re.compile(r"^[a-zA-Z0-9\-_:;./<>{}]{0,256}$")
log = structlog.get_logger("gateway.access")


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "<unmatched>"


def _render(exc: BaseException) -> web.Response:
    if isinstance(exc, OAuthError):
        return web.json_response(exc.body(), status=exc.status, headers=exc.headers)
    if isinstance(exc, web.HTTPException):
        exc = from_http_status(exc.status, exc.reason)
    if not isinstance(exc, ApiError):
        exc = ApiError()
    return web.json_response(exc.body(), status=exc.status, headers=exc.headers)


def _database_unavailable(exc: Exception) -> bool:
    """A failure a retry may not meet again: a locked or unreachable database, an exhausted pool,
    or a connection lost mid-statement (SQLAlchemy then renews the pool)."""
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.TimeoutError):
        return True
    return isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated


@web.middleware
async def gateway_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """See the module docstring."""
    started = time.perf_counter()
    presented = request.headers.get(CORRELATOR)
    valid = presented is None or bool(_CORRELATOR_RE.match(presented))
    correlator = presented if presented and valid else str(uuid_utils.uuid4())
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(correlator=correlator)
    response: web.StreamResponse
    try:
        if not valid:
            raise InvalidArgument("The x-correlator header does not match the required pattern.")
        response = await handler(request)
        if isinstance(response, web.HTTPException):
            response = _render(response)
    except web.HTTPException as exc:
        response = exc if exc.status < 400 else _render(exc)
    except (ApiError, OAuthError) as exc:
        response = _render(exc)
    except Exception as exc:
        if _database_unavailable(exc):
            cause = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
            log.warning("database_unavailable", route=_route(request), error=str(cause)[:200])
            response = _render(
                Unavailable("The database is busy or unreachable; retry.", headers={"Retry-After": "1"})
            )
        else:
            log.exception("unhandled_error", route=_route(request))
            response = _render(ApiError())
    response.headers[CORRELATOR] = correlator
    elapsed = time.perf_counter() - started
    route = _route(request)
    REQUEST_SECONDS.labels(request.method, route, str(response.status)).observe(elapsed)
    log.info(
        "request",
        method=request.method,
        route=route,
        status=response.status,
        duration_ms=round(elapsed * 1000, 2),
    )
    return response
