"""The gateway's outermost middleware: correlator, error rendering, the ``Server`` header and the
access log.

- ``x-correlator``: validated against the CAMARA pattern (a bad value is 400 INVALID_ARGUMENT
  and is not echoed), echoed on every response, generated when absent, bound to every log line.
- Errors (:func:`render`, the one renderer): :class:`~gateway.errors.ApiError` renders the CAMARA
  body; ``OAuthError`` the RFC 6749 body; aiohttp's own HTTP errors (404, 405 with ``Allow``,
  413) get the CAMARA body too; a request body the framework could not read (broken chunked
  framing or content encoding) is 400 INVALID_ARGUMENT; a database that is locked (SQLite under
  write contention) or unreachable, a connection lost mid-statement (a restarted PostgreSQL), or a
  connection pool that stays exhausted past its timeout, is 503 UNAVAILABLE with
  ``Retry-After: 1`` (the transaction was rolled back: nothing was accepted); anything else is
  logged and answered as a generic 500 without details.
- ``Server``: the product token :data:`SERVER` with no version numbers, on every response.
- Access log and ``gateway_request_seconds``: method, route template (never the raw path or
  query), status, duration.
"""

from __future__ import annotations

import re
import time

import sqlalchemy.exc
import structlog
import uuid_utils
from aiohttp import hdrs, web

from gateway.auth import Handler
from gateway.errors import ApiError, InvalidArgument, OAuthError, Unavailable, from_http_status
from gateway.metrics import REQUEST_SECONDS

__all__ = ["CORRELATOR", "SERVER", "gateway_middleware", "new_correlator", "render"]

CORRELATOR = "x-correlator"
SERVER = "carrier-gateway"
_CORRELATOR_RE = re.compile(r"^[a-zA-Z0-9\-_:;./<>{}]{0,256}$")
log = structlog.get_logger("gateway.access")


def _route(request: web.Request) -> str:
    info = request.match_info.route.resource
    return info.canonical if info is not None else "<unmatched>"


def new_correlator() -> str:
    """A fresh ``x-correlator`` for a request that brought none."""
    return str(uuid_utils.uuid4())


def render(exc: BaseException) -> web.Response:
    """The response for an error: the contract's body (RFC 6749's for ``OAuthError``), a generic
    500 for anything that is not an error of the tree or an aiohttp HTTP error."""
    if isinstance(exc, OAuthError):
        return web.json_response(exc.body(), status=exc.status, headers=exc.headers)
    if isinstance(exc, web.HTTPMethodNotAllowed):
        exc = from_http_status(exc.status, exc.reason, allowed_methods=exc.allowed_methods)
    elif isinstance(exc, web.HTTPException):
        exc = from_http_status(exc.status, exc.reason)
    if not isinstance(exc, ApiError):
        exc = ApiError()
    return web.json_response(exc.body(), status=exc.status, headers=exc.headers)


def _unexpected(request: web.Request, exc: Exception) -> web.Response:
    if _database_unavailable(exc):
        cause = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) else exc
        log.warning("database_unavailable", route=_route(request), error=str(cause)[:200])
        return render(
            Unavailable("The database is busy or unreachable; retry.", headers={"Retry-After": "1"})
        )
    if isinstance(exc, ConnectionResetError) and request.transport is None:
        log.info("client_disconnected", route=_route(request))
        return render(InvalidArgument("The connection closed before the request was read."))
    log.exception("unhandled_error", route=_route(request))
    return render(ApiError())


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
    correlator = presented if presented and valid else new_correlator()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(correlator=correlator)
    response: web.StreamResponse
    try:
        if not valid:
            raise InvalidArgument("The x-correlator header does not match the required pattern.")
        response = await handler(request)
        if isinstance(response, web.HTTPException):
            response = render(response)
    except web.HTTPException as exc:
        response = exc if exc.status < 400 else render(exc)
    except (ApiError, OAuthError) as exc:
        response = render(exc)
    except web.RequestPayloadError as exc:
        log.info("request_body_unreadable", route=_route(request), error=type(exc.__cause__).__name__)
        response = render(
            InvalidArgument("The request body could not be read: its framing or encoding is broken.")
        )
    except Exception as exc:
        response = _unexpected(request, exc)
    response.headers[CORRELATOR] = correlator
    response.headers[hdrs.SERVER] = SERVER
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
