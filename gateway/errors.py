"""The gateway's one error hierarchy, rendered in one place (:mod:`gateway.middleware`).

::

    ApiError                         CAMARA body {"status", "code", "message"}
    ├── InvalidArgument              400 INVALID_ARGUMENT
    ├── OutOfRange                   400 OUT_OF_RANGE
    ├── KycInvalidParamCombination   400 KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION
    ├── Unauthenticated              401 UNAUTHENTICATED (one generic message, no hints)
    ├── PermissionDenied             403 PERMISSION_DENIED
    ├── InvalidTokenContext          403 INVALID_TOKEN_CONTEXT
    ├── NotAuthenticatedByNetwork    403 NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK
    ├── NotFound                     404 NOT_FOUND (also another tenant's objects)
    ├── IdempotencyKeyReused         409 IDEMPOTENCY_KEY_REUSED (same key, different request)
    ├── IdentifierNotFound           404 IDENTIFIER_NOT_FOUND
    ├── MethodNotAllowed             405 METHOD_NOT_ALLOWED (Allow lists the path's methods)
    ├── PayloadTooLarge              413 PAYLOAD_TOO_LARGE
    ├── UnsupportedMediaType         415 UNSUPPORTED_MEDIA_TYPE
    ├── OneTapTokenInvalid           422 ONE_TAP.TOKEN_INVALID
    ├── OneTapOperatorMismatch       422 ONE_TAP.OPERATOR_MISMATCH
    ├── ServiceNotApplicable         422 SERVICE_NOT_APPLICABLE
    ├── MissingIdentifier            422 MISSING_IDENTIFIER
    ├── UnnecessaryIdentifier        422 UNNECESSARY_IDENTIFIER
    ├── TemplateNotApproved          422 TEMPLATE_NOT_APPROVED
    ├── MissingParam                 422 MISSING_PARAM (``param`` names it)
    ├── DeviceLimitReached           422 LOGIN_CHECK.DEVICE_LIMIT_REACHED
    ├── RecipientOptedOut            422 RECIPIENT_OPTED_OUT (marketing to a number that replied T/TD/R)
    ├── InvalidPhoneNumber           422 INVALID_PHONE_NUMBER (an SMS target that is not a mobile number)
    ├── LinkNotForThisDevice         403 LINK_NOT_FOR_THIS_DEVICE (a push link opened on another number)
    ├── LinkExpired                  410 LINK_EXPIRED
    ├── FlowStateConflict            409 FLOW_STATE_CONFLICT (the flow is past the requested step)
    ├── QueueEmpty                   409 QUEUE_EMPTY (call-next with nobody waiting)
    ├── WebhookEndpointDisabled      409 WEBHOOK_ENDPOINT_DISABLED (dead letters of a 410-disabled endpoint)
    ├── NoTicketCalled               409 NO_TICKET_CALLED (recall or no-show at a counter with no ticket)
    ├── TotpCodeRequired             401 TOTP_REQUIRED (console sign-in: right password, code missing)
    ├── UsernameTaken                409 USERNAME_TAKEN (staff usernames are unique across the gateway)
    ├── TotpEnrolmentConflict        409 TOTP_ENROLMENT_CONFLICT (TOTP already on, or no enrolment begun)
    ├── CampaignStateConflict        409 CAMPAIGN_STATE_CONFLICT (an action the campaign's state forbids)
    ├── ChannelNotConfigured         409 CHANNEL_NOT_CONFIGURED (no chatbot or card account for that use)
    ├── ChannelIdTaken               409 CHANNEL_ID_TAKEN (another tenant's botId or appId at that platform)
    ├── InvalidProtocol              400 INVALID_PROTOCOL (CAMARA subscriptions: protocol other than HTTP)
    ├── InvalidSink                  400 INVALID_SINK (CAMARA subscriptions: sink URL refused)
    ├── InvalidCredential            400 INVALID_CREDENTIAL (CAMARA subscriptions: sinkCredential shape)
    ├── InvalidSinkToken             400 INVALID_TOKEN (CAMARA subscriptions: sink access token)
    ├── TooManyRequests              429 TOO_MANY_REQUESTS (Retry-After)
    │   └── QuotaExceeded            429 QUOTA_EXCEEDED (the tenant's daily SMS budget; Retry-After)
    ├── BadGateway                   502 BAD_GATEWAY
    ├── Unavailable                  503 UNAVAILABLE (Retry-After when the wait is known)
    └── GatewayTimeout               504 TIMEOUT
    OAuthError                       RFC 6749 body {"error", "error_description"} on /oauth2/*
    └── OAuthRedirect                the same, delivered to the client's redirect_uri (authorize)

``message`` is for humans and never carries phone numbers, tokens or operator payloads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import ClassVar

import redis.exceptions

from carrier_adapters import (
    CarrierError,
    CarrierTimeout,
    CarrierUnavailable,
    LineNotEligible,
    NumberNotServed,
    TokenRejected,
)

__all__ = [
    "ApiError",
    "BadGateway",
    "CampaignStateConflict",
    "ChannelIdTaken",
    "ChannelNotConfigured",
    "DeviceLimitReached",
    "FlowStateConflict",
    "GatewayTimeout",
    "IdempotencyKeyReused",
    "IdentifierNotFound",
    "InvalidArgument",
    "InvalidCode",
    "InvalidCredential",
    "InvalidPhoneNumber",
    "InvalidProtocol",
    "InvalidSink",
    "InvalidSinkToken",
    "InvalidTokenContext",
    "KycInvalidParamCombination",
    "LinkExpired",
    "LinkNotForThisDevice",
    "MethodNotAllowed",
    "MissingIdentifier",
    "MissingParam",
    "NoTicketCalled",
    "NotAuthenticatedByNetwork",
    "NotFound",
    "OAuthError",
    "OAuthRedirect",
    "OneTapOperatorMismatch",
    "OneTapTokenInvalid",
    "OutOfRange",
    "PayloadTooLarge",
    "PermissionDenied",
    "QueueEmpty",
    "QuotaExceeded",
    "RecipientOptedOut",
    "ServiceNotApplicable",
    "TemplateNotApproved",
    "TooManyRequests",
    "TotpCodeRequired",
    "TotpEnrolmentConflict",
    "Unauthenticated",
    "Unavailable",
    "UnnecessaryIdentifier",
    "UnsupportedMediaType",
    "UsernameTaken",
    "VerificationConflict",
    "VerificationInProgress",
    "WebhookEndpointDisabled",
    "from_carrier_error",
    "from_http_status",
    "from_line_error",
    "shared_store_call",
]


class ApiError(Exception):
    """An error answered to the client; subclasses fix ``status`` and ``code``."""

    status: int = 500
    code: str = "INTERNAL"
    default_message: ClassVar[str] = "Internal error."
    remedy: ClassVar[str] = (
        "Retry later; if it persists, report the x-correlator of the answer to the gateway's operators."
    )
    """What the caller should do about it (listed in docs/errors.md)."""

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        self.message = message or self.default_message
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> dict[str, object]:
        """The contract's error body."""
        return {"status": self.status, "code": self.code, "message": self.message}


class InvalidArgument(ApiError):
    status, code, default_message = 400, "INVALID_ARGUMENT", "Client specified an invalid argument."
    remedy = (
        "Correct the request as the message says (a field's type or format, an unknown property, a "
        "malformed header) and send it again; the same request fails again."
    )


class Unauthenticated(ApiError):
    status, code = 401, "UNAUTHENTICATED"
    default_message = "Request not authenticated due to missing, invalid, or expired credentials."
    remedy = (
        "Get a new access token (the old one may have expired) and check the client credentials; the "
        "answer never says which part failed."
    )

    def __init__(self) -> None:
        super().__init__(headers={"WWW-Authenticate": 'Bearer realm="gateway"'})


class PermissionDenied(ApiError):
    status, code = 403, "PERMISSION_DENIED"
    default_message = "Client does not have sufficient permissions to perform this action."
    remedy = (
        "Request a token with the scope the message names; a tenant not registered for that scope "
        "asks the gateway's administrator for it."
    )


class NotFound(ApiError):
    status, code, default_message = 404, "NOT_FOUND", "The specified resource is not found."
    remedy = "Check the id and the path; another tenant's objects answer 404 too, by design."


class MethodNotAllowed(ApiError):
    """``Allow`` lists the methods the path accepts (RFC 9110 §15.5.6); the message names them too."""

    status, code, default_message = 405, "METHOD_NOT_ALLOWED", "The method is not allowed on this path."
    remedy = "Use one of the methods the Allow header lists."

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        methods = ", ".join(sorted(allowed))
        message = f"The method is not allowed on this path; it accepts {methods}." if methods else None
        super().__init__(message, headers={"Allow": methods})


class PayloadTooLarge(ApiError):
    status, code, default_message = 413, "PAYLOAD_TOO_LARGE", "The request body is too large."
    remedy = "Send a smaller body (the limit is MAX_BODY_BYTES, 64 KiB by default)."


class UnsupportedMediaType(ApiError):
    status, code, default_message = (
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "The request body must be application/json.",
    )
    remedy = "Send Content-Type: application/json (application/x-www-form-urlencoded on /oauth2/*)."


class OneTapTokenInvalid(ApiError):
    status, code = 422, "ONE_TAP.TOKEN_INVALID"
    default_message = "The one-tap token is invalid: expired, already used, malformed or for another app."
    remedy = (
        "Ask the app for a fresh SDK token: tokens are single use and short-lived, so the same token "
        "never succeeds later."
    )


class OneTapOperatorMismatch(ApiError):
    status, code = 422, "ONE_TAP.OPERATOR_MISMATCH"
    default_message = "The token, the operator and the phone number do not belong together."
    remedy = (
        "Send the operator that issued the token, or leave operator out; check that the number "
        "belongs to that operator."
    )


class TooManyRequests(ApiError):
    status, code, default_message = 429, "TOO_MANY_REQUESTS", "Rate limit reached."
    remedy = "Wait the Retry-After seconds, then try again."

    def __init__(self, retry_after: int) -> None:
        super().__init__(headers={"Retry-After": str(retry_after)})


class QuotaExceeded(TooManyRequests):
    code, default_message = "QUOTA_EXCEEDED", "The tenant's daily SMS budget is spent."
    remedy = (
        "Wait the Retry-After seconds (the next day in the budget's time zone), or ask the operator of "
        "the gateway to raise the budget; GET /push/v1/usage shows what is left."
    )


class BadGateway(ApiError):
    status, code, default_message = 502, "BAD_GATEWAY", "The operator returned an invalid answer."
    remedy = "Retry later; a one-tap token may have been spent, so retry a one-tap call with a new token."


class Unavailable(ApiError):
    status, code, default_message = 503, "UNAVAILABLE", "The service is temporarily unavailable."
    remedy = "Retry after Retry-After seconds when given, else after a short pause; nothing was accepted."


class GatewayTimeout(ApiError):
    status, code, default_message = 504, "TIMEOUT", "The operator did not answer in time."
    remedy = (
        "Retry later; the operator may have consumed a one-tap token, so retry a one-tap call with a "
        "new token."
    )


class OutOfRange(ApiError):
    status, code, default_message = 400, "OUT_OF_RANGE", "Client specified an invalid range."
    remedy = "Send a value inside the limit the message names."


class KycInvalidParamCombination(ApiError):
    status, code = 400, "KNOW_YOUR_CUSTOMER.INVALID_PARAM_COMBINATION"
    default_message = "At least one attribute other than phoneNumber must be provided."
    remedy = "Send at least one attribute besides phoneNumber."


class InvalidTokenContext(ApiError):
    status, code = 403, "INVALID_TOKEN_CONTEXT"
    default_message = "phoneNumber is not consistent with the access token."
    remedy = (
        "Leave phoneNumber out (the 3-legged token already names the line) or send the token's own number."
    )


class NotAuthenticatedByNetwork(ApiError):
    status, code = 403, "NUMBER_VERIFICATION.USER_NOT_AUTHENTICATED_BY_MOBILE_NETWORK"
    default_message = "The user was not authenticated by the mobile network."
    remedy = (
        "Get the token by network authentication (the code flow in the phone's browser on mobile "
        "data, or CIBA with an operatortoken: hint); tokens from tel: hints cannot verify a number."
    )


class IdentifierNotFound(ApiError):
    status, code = 404, "IDENTIFIER_NOT_FOUND"
    default_message = "Device identifier not found."
    remedy = (
        "Check the number: its operator does not know it (a number ported to another operator also "
        "answers this). Retrying does not help."
    )


class ServiceNotApplicable(ApiError):
    status, code = 422, "SERVICE_NOT_APPLICABLE"
    default_message = "The service is not available for the provided identifier."
    remedy = (
        "Use another way to check this line: its operator does not offer the service for it (no "
        "device data, no SMS route, not eligible)."
    )


class MissingIdentifier(ApiError):
    status, code = 422, "MISSING_IDENTIFIER"
    default_message = "The device cannot be identified."
    remedy = "With a 2-legged token, send phoneNumber."


class UnnecessaryIdentifier(ApiError):
    status, code = 422, "UNNECESSARY_IDENTIFIER"
    default_message = "The device is already identified by the access token."
    remedy = "With a 3-legged token, leave phoneNumber out: the token already names the line."


class TemplateNotApproved(ApiError):
    status, code = 422, "TEMPLATE_NOT_APPROVED"
    default_message = "The template is not approved (pending review or rejected)."
    remedy = (
        "Wait for approval (GET /push/v1/templates/{id} shows the status and a rejection's reason) or "
        "create a corrected template."
    )


class MissingParam(ApiError):
    """A required template parameter is absent; ``param`` is its declared name."""

    status, code = 422, "MISSING_PARAM"
    remedy = "Send a non-empty value for the parameter the message names."

    def __init__(self, param: str) -> None:
        super().__init__(f"The required template parameter '{param}' is missing.")
        self.param = param


class InvalidPhoneNumber(ApiError):
    status, code = 422, "INVALID_PHONE_NUMBER"
    default_message = "The number cannot receive SMS: it is not a mobile number."
    remedy = (
        "Send to the customer's mobile number; fixed lines, 95xxx and 106xx service numbers and numbers "
        "outside any allocated range are refused before anything is sent."
    )


class DeviceLimitReached(ApiError):
    status, code = 422, "LOGIN_CHECK.DEVICE_LIMIT_REACHED"
    default_message = "The phone number already has the maximum number of bound devices."
    remedy = (
        "Delete a binding the customer no longer uses (DELETE /login-check/v1/devices/{id}), then "
        "bind the new device."
    )


class IdempotencyKeyReused(ApiError):
    status, code = 409, "IDEMPOTENCY_KEY_REUSED"
    default_message = "The Idempotency-Key was already used with a different request."
    remedy = (
        "Use a new Idempotency-Key for a different request; the original body with the original key "
        "answers the original response."
    )


class RecipientOptedOut(ApiError):
    status, code = 422, "RECIPIENT_OPTED_OUT"
    default_message = "The recipient opted out of marketing messages with this signature."
    remedy = (
        "Do not send marketing with this signature to this number; transaction and notification "
        "templates still go."
    )


class InvalidProtocol(ApiError):
    status, code, default_message = 400, "INVALID_PROTOCOL", "Only the HTTP protocol is supported."
    remedy = "Send protocol HTTP."


class InvalidSink(ApiError):
    status, code, default_message = 400, "INVALID_SINK", "The sink is not an acceptable URL."
    remedy = (
        "Use an https sink on a public host (http and private hosts only where ALLOW_PRIVATE_WEBHOOKS "
        "is set)."
    )


class InvalidCredential(ApiError):
    status, code = 400, "INVALID_CREDENTIAL"
    default_message = "Only an ACCESSTOKEN sinkCredential with a bearer access token is supported."
    remedy = "Send sinkCredential as credentialType ACCESSTOKEN with accessTokenType bearer, or leave it out."


class InvalidSinkToken(ApiError):
    status, code, default_message = 400, "INVALID_TOKEN", "The sinkCredential access token is not valid."
    remedy = "Send a visible-ASCII access token whose expiry is in the future."


class LinkNotForThisDevice(ApiError):
    status, code = 403, "LINK_NOT_FOR_THIS_DEVICE"
    default_message = "This link can only be opened on the phone it was sent to."
    remedy = "Open the link on the phone it was sent to, over that phone's mobile data."


class LinkExpired(ApiError):
    status, code, default_message = 410, "LINK_EXPIRED", "This link has expired."
    remedy = "Send a new message: an expired link never opens again."


class FlowStateConflict(ApiError):
    status, code = 409, "FLOW_STATE_CONFLICT"
    default_message = "The flow has already moved past this step."
    remedy = (
        "Redeem the link again to read the flow's current state and continue from there; this step is "
        "already done."
    )


class InvalidCode(ApiError):
    """A wrong verification code; the body adds ``attemptsLeft`` (0: the request has failed)."""

    status, code, default_message = 400, "INVALID_CODE", "The code is not the one sent."
    remedy = (
        "Ask the customer to type the code again from the latest SMS; after the last attempt the "
        "request is failed and a new one must be created."
    )

    def __init__(self, attempts_left: int) -> None:
        message = (
            f"The code is not the one sent; {attempts_left} attempts left."
            if attempts_left
            else "The code is not the one sent; no attempts left, the verification request has failed."
        )
        super().__init__(message)
        self.attempts_left = attempts_left

    def body(self) -> dict[str, object]:
        """The contract's error body with ``attemptsLeft``."""
        return {**super().body(), "attemptsLeft": self.attempts_left}


class VerificationInProgress(ApiError):
    status, code = 409, "VERIFICATION_IN_PROGRESS"
    default_message = "A verification request for this number is already pending."
    remedy = "Check or cancel the pending request (DELETE /verify/v1/requests/{id}) before creating another."


class VerificationConflict(ApiError):
    status, code, default_message = 409, "VERIFICATION_CONFLICT", "The request cannot do that now."
    remedy = "Read the request (GET /verify/v1/requests/{id}); the message says which state forbids it."


class QueueEmpty(ApiError):
    status, code, default_message = 409, "QUEUE_EMPTY", "Nobody is waiting in this queue."
    remedy = "Call the next customer once a ticket has been taken."


class WebhookEndpointDisabled(ApiError):
    status, code = 409, "WEBHOOK_ENDPOINT_DISABLED"
    default_message = "The webhook endpoint is disabled: it answered 410 Gone."
    remedy = (
        "Register the endpoint again (PUT /push/v1/webhook), which enables it, then retry its dead letters."
    )


class NoTicketCalled(ApiError):
    status, code, default_message = 409, "NO_TICKET_CALLED", "No ticket is called to this counter now."
    remedy = "Call the next customer to the counter first; a ticket marked no-show cannot be recalled."


class TotpCodeRequired(ApiError):
    """The console's sign-in: the password was right, the account has a second factor, no code came."""

    status, code = 401, "TOTP_REQUIRED"
    default_message = "Enter the 6-digit code of your authenticator app."
    remedy = "Send the sign-in again with the current code of the account's authenticator app in totp."

    def __init__(self) -> None:
        super().__init__(headers={"WWW-Authenticate": 'Bearer realm="gateway"'})


class UsernameTaken(ApiError):
    status, code, default_message = 409, "USERNAME_TAKEN", "The username is already taken."
    remedy = (
        "Choose another username: they are unique across the gateway, so suffix the institution's own "
        "(e.g. li.na@pingan)."
    )


class TotpEnrolmentConflict(ApiError):
    status, code = 409, "TOTP_ENROLMENT_CONFLICT"
    default_message = "The account's TOTP cannot be enrolled now."
    remedy = (
        "TOTP already on: an admin resets it (POST /admin/tenants/{tenant_id}/staff/{staff_id}/reset-totp) "
        "before a new enrolment; no enrolment begun: begin one, then confirm it with a code."
    )


class CampaignStateConflict(ApiError):
    status, code, default_message = 409, "CAMPAIGN_STATE_CONFLICT", "The campaign cannot do that now."
    remedy = (
        "Read the campaign (GET /push/v1/campaigns/{id}); the message says which state forbids the action "
        "(recipients are added before start or while paused; start needs recipients)."
    )


class ChannelNotConfigured(ApiError):
    status, code = 409, "CHANNEL_NOT_CONFIGURED"
    default_message = "The rich-message channel this needs is not configured."
    remedy = (
        "Configure it first: PUT /push/v1/channels/5g/{operator} for a chatbot, PUT "
        "/push/v1/channels/card/{vendor} for a card-SMS account (enabled), as the message names."
    )


class ChannelIdTaken(ApiError):
    status, code = 409, "CHANNEL_ID_TAKEN"
    default_message = "Another tenant holds this botId or appId at that platform."
    remedy = (
        "Use the chatbot or account the operator or vendor registered for you; ids are unique per platform."
    )


_BY_STATUS: dict[int, type[ApiError]] = {
    cls.status: cls for cls in (InvalidArgument, NotFound, PayloadTooLarge, UnsupportedMediaType)
}


def from_http_status(status: int, reason: str, *, allowed_methods: Iterable[str] = ()) -> ApiError:
    """The contract error for an HTTP error raised by the framework (404, 405, 413...);
    ``allowed_methods`` are a 405's."""
    if status == MethodNotAllowed.status:
        return MethodNotAllowed(allowed_methods)
    cls = _BY_STATUS.get(status)
    if cls is not None:
        return cls()
    err = ApiError(reason)
    err.status, err.code = status, reason.upper().replace(" ", "_")
    return err


def from_carrier_error(exc: CarrierError) -> ApiError:
    """Translate an adapter failure into the contract error the client sees.

    An unavailable operator whose return time is known (an open circuit) adds ``Retry-After``
    (whole seconds, at least 1).
    """
    if isinstance(exc, TokenRejected):
        return OneTapTokenInvalid()
    if isinstance(exc, NumberNotServed):
        return OneTapOperatorMismatch("The phone number is not served by the token's operator.")
    if isinstance(exc, LineNotEligible):
        return ServiceNotApplicable()
    if isinstance(exc, CarrierTimeout):
        return GatewayTimeout()
    if isinstance(exc, CarrierUnavailable):
        if exc.retry_after is None:
            return Unavailable("The operator is unavailable.")
        wait = str(max(1, math.ceil(exc.retry_after)))
        return Unavailable("The operator is unavailable.", headers={"Retry-After": wait})
    return BadGateway()


def from_line_error(exc: CarrierError) -> ApiError:
    """Translate a failure of a CAMARA line lookup (swap history, KYC record) for the client.

    There, an unknown number is the CAMARA ``404 IDENTIFIER_NOT_FOUND``; the rest maps as in
    :func:`from_carrier_error`.
    """
    if isinstance(exc, NumberNotServed):
        return IdentifierNotFound()
    return from_carrier_error(exc)


@contextmanager
def shared_store_call() -> Iterator[None]:
    """Translate a Redis that cannot be reached or does not answer in time (the replay cache, the
    rate limiter) into ``503 UNAVAILABLE`` with ``Retry-After: 1``."""
    try:
        yield
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
        raise Unavailable(
            "A store the gateway shares between its processes is unreachable; retry.",
            headers={"Retry-After": "1"},
        ) from exc


class OAuthError(Exception):
    """An RFC 6749 §5.2 error on the token endpoint (``invalid_client`` answers 401)."""

    def __init__(
        self, error: str, description: str, *, status: int = 400, retry_after: int | None = None
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = 401 if error == "invalid_client" else status
        self.retry_after = retry_after

    def body(self) -> dict[str, object]:
        """The RFC 6749 error body."""
        return {"error": self.error, "error_description": self.description}

    @property
    def headers(self) -> dict[str, str]:
        """``WWW-Authenticate`` for client authentication failures, ``Retry-After`` when given."""
        headers = {"WWW-Authenticate": 'Basic realm="gateway"'} if self.status == 401 else {}
        return headers if self.retry_after is None else {**headers, "Retry-After": str(self.retry_after)}


class OAuthRedirect(OAuthError):
    """An authorization-endpoint error for the client (RFC 6749 §4.1.2.1), sent to its ``redirect_uri``.

    Raised only once ``client_id`` and ``redirect_uri`` are known good; the view answers a 302 to
    ``redirect_uri`` with :meth:`params` added to its query. ``state`` is echoed when the client sent one.
    """

    def __init__(self, error: str, description: str, *, redirect_uri: str, state: str | None) -> None:
        super().__init__(error, description)
        self.redirect_uri = redirect_uri
        self.state = state

    def params(self) -> dict[str, str]:
        """``error``, ``error_description`` and, if any, ``state``."""
        params = {"error": self.error, "error_description": self.description}
        return params if self.state is None else {**params, "state": self.state}
