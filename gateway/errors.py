"""The gateway's one error hierarchy, rendered in one place (:mod:`gateway.middleware`).

::

    ApiError                         CAMARA body {"status", "code", "message"}
    ├── InvalidArgument              400 INVALID_ARGUMENT
    ├── Unauthenticated              401 UNAUTHENTICATED (one generic message, no hints)
    ├── PermissionDenied             403 PERMISSION_DENIED
    ├── NotFound                     404 NOT_FOUND (also another tenant's objects)
    ├── MethodNotAllowed             405 METHOD_NOT_ALLOWED
    ├── PayloadTooLarge              413 PAYLOAD_TOO_LARGE
    ├── UnsupportedMediaType         415 UNSUPPORTED_MEDIA_TYPE
    ├── OneTapTokenInvalid           422 ONE_TAP.TOKEN_INVALID
    ├── OneTapOperatorMismatch       422 ONE_TAP.OPERATOR_MISMATCH
    ├── TooManyRequests              429 TOO_MANY_REQUESTS (Retry-After)
    ├── BadGateway                   502 BAD_GATEWAY
    ├── Unavailable                  503 UNAVAILABLE
    └── GatewayTimeout               504 TIMEOUT
    OAuthError                       RFC 6749 body {"error", "error_description"} on /oauth2/*

``message`` is for humans and never carries phone numbers, tokens or operator payloads.
"""

from __future__ import annotations

from typing import ClassVar

from carrier_adapters import (
    CarrierError,
    CarrierTimeout,
    CarrierUnavailable,
    NumberNotServed,
    TokenRejected,
)

__all__ = [
    "ApiError",
    "BadGateway",
    "GatewayTimeout",
    "InvalidArgument",
    "MethodNotAllowed",
    "NotFound",
    "OAuthError",
    "OneTapOperatorMismatch",
    "OneTapTokenInvalid",
    "PayloadTooLarge",
    "PermissionDenied",
    "TooManyRequests",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "from_carrier_error",
    "from_http_status",
]


class ApiError(Exception):
    """An error answered to the client; subclasses fix ``status`` and ``code``."""

    status: int = 500
    code: str = "INTERNAL"
    default_message: ClassVar[str] = "Internal error."

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> dict[str, object]:
        """The contract's error body."""
        return {"status": self.status, "code": self.code, "message": self.message}


class InvalidArgument(ApiError):
    status, code, default_message = 400, "INVALID_ARGUMENT", "Client specified an invalid argument."


class Unauthenticated(ApiError):
    status, code = 401, "UNAUTHENTICATED"
    default_message = "Request not authenticated due to missing, invalid, or expired credentials."

    def __init__(self) -> None:
        super().__init__(headers={"WWW-Authenticate": 'Bearer realm="gateway"'})


class PermissionDenied(ApiError):
    status, code = 403, "PERMISSION_DENIED"
    default_message = "Client does not have sufficient permissions to perform this action."


class NotFound(ApiError):
    status, code, default_message = 404, "NOT_FOUND", "The specified resource is not found."


class MethodNotAllowed(ApiError):
    status, code, default_message = 405, "METHOD_NOT_ALLOWED", "The method is not allowed on this path."


class PayloadTooLarge(ApiError):
    status, code, default_message = 413, "PAYLOAD_TOO_LARGE", "The request body is too large."


class UnsupportedMediaType(ApiError):
    status, code, default_message = (
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "The request body must be application/json.",
    )


class OneTapTokenInvalid(ApiError):
    status, code = 422, "ONE_TAP.TOKEN_INVALID"
    default_message = "The one-tap token is invalid: expired, already used, malformed or for another app."


class OneTapOperatorMismatch(ApiError):
    status, code = 422, "ONE_TAP.OPERATOR_MISMATCH"
    default_message = "The token, the operator and the phone number do not belong together."


class TooManyRequests(ApiError):
    status, code, default_message = 429, "TOO_MANY_REQUESTS", "Rate limit reached."

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(retry_after)})


class BadGateway(ApiError):
    status, code, default_message = 502, "BAD_GATEWAY", "The operator returned an invalid answer."


class Unavailable(ApiError):
    status, code, default_message = 503, "UNAVAILABLE", "The service is temporarily unavailable."


class GatewayTimeout(ApiError):
    status, code, default_message = 504, "TIMEOUT", "The operator did not answer in time."


_BY_STATUS: dict[int, type[ApiError]] = {
    cls.status: cls
    for cls in (InvalidArgument, NotFound, MethodNotAllowed, PayloadTooLarge, UnsupportedMediaType)
}


def from_http_status(status: int, reason: str) -> ApiError:
    """The contract error for an HTTP error raised by the framework (404, 405, 413...)."""
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls()
    err = ApiError(reason)
    err.status, err.code = status, reason.upper().replace(" ", "_")
    return err


def from_carrier_error(exc: CarrierError) -> ApiError:
    """Translate an adapter failure into the contract error the client sees."""
    if isinstance(exc, TokenRejected):
        return OneTapTokenInvalid()
    if isinstance(exc, NumberNotServed):
        return OneTapOperatorMismatch("The phone number is not served by the token's operator.")
    if isinstance(exc, CarrierTimeout):
        return GatewayTimeout()
    if isinstance(exc, CarrierUnavailable):
        return Unavailable("The operator is unavailable.")
    return BadGateway()


class OAuthError(Exception):
    """An RFC 6749 §5.2 error on the token endpoint (``invalid_client`` answers 401)."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = 401 if error == "invalid_client" else status

    def body(self) -> dict[str, object]:
        """The RFC 6749 error body."""
        return {"error": self.error, "error_description": self.description}

    @property
    def headers(self) -> dict[str, str]:
        """``WWW-Authenticate`` for client authentication failures."""
        return {"WWW-Authenticate": 'Basic realm="gateway"'} if self.status == 401 else {}
