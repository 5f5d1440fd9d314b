"""Control-API errors and their one rendering, the contract's ``{"status", "code", "message"}`` body.

::

    SandboxError            500 INTERNAL
    ├── InvalidArgument     400 INVALID_ARGUMENT (malformed JSON, wrong types, unknown fields)
    ├── NotFound            404 NOT_FOUND
    ├── AlreadyExists       409 ALREADY_EXISTS
    ├── Conflict            409 CONFLICT (the state does not allow it, e.g. no SMS to reply to)
    └── BadGateway          502 BAD_GATEWAY (the phone's browser stopped before the redirect URI)

:func:`error_middleware` also gives aiohttp's own 4xx answers (unknown path, wrong method,
oversized body) the same body. Messages never carry phone numbers or tokens. A client that closed
its connection before the request was read is one warning line, ``sandbox.client_gone``.
"""

from __future__ import annotations

from typing import ClassVar, Final

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

__all__ = [
    "AlreadyExists",
    "BadGateway",
    "Conflict",
    "InvalidArgument",
    "NotFound",
    "SandboxError",
    "error_middleware",
    "error_response",
    "route_name",
]

_log = structlog.get_logger(__name__)

_CODES_BY_STATUS: Final = {
    400: "INVALID_ARGUMENT",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "ALREADY_EXISTS",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


class SandboxError(Exception):
    """An error answered to the caller; subclasses fix ``status`` and ``code``."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL"
    default_message: ClassVar[str] = "Internal error."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidArgument(SandboxError):
    status, code, default_message = 400, "INVALID_ARGUMENT", "Client specified an invalid argument."


class NotFound(SandboxError):
    status, code, default_message = 404, "NOT_FOUND", "The specified resource is not found."


class AlreadyExists(SandboxError):
    status, code, default_message = 409, "ALREADY_EXISTS", "The resource already exists."


class Conflict(SandboxError):
    status, code, default_message = 409, "CONFLICT", "The request conflicts with the current state."


class BadGateway(SandboxError):
    status, code, default_message = 502, "BAD_GATEWAY", "An upstream server answered unexpectedly."


def error_response(status: int, code: str, message: str) -> web.Response:
    """The contract's error body as an ``application/json`` response."""
    return web.json_response({"status": status, "code": code, "message": message}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render :class:`SandboxError`, aiohttp's HTTP errors and anything unexpected as the error body."""
    try:
        return await handler(request)
    except SandboxError as exc:
        return error_response(exc.status, exc.code, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _CODES_BY_STATUS.get(exc.status, "INVALID_ARGUMENT" if exc.status < 500 else "INTERNAL")
        response = error_response(exc.status, code, f"{exc.reason}.")
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except ConnectionResetError:
        _log.warning("sandbox.client_gone", method=request.method, route=route_name(request))
        return error_response(400, "INVALID_ARGUMENT", "The client closed the connection.")
    except Exception:
        _log.exception("sandbox.unhandled_error", method=request.method, route=route_name(request))
        return error_response(500, "INTERNAL", SandboxError.default_message)


def route_name(request: web.Request) -> str | None:
    """The matched route's pattern (never the concrete path, which may hold a phone number)."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None
