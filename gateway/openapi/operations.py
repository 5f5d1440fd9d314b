"""The per-route metadata of the document, keyed by ``(METHOD, path template)`` as the router has them.

Request models are the ones the views decode with; response models are in
:mod:`gateway.openapi.responses`; ``errors`` are the route's own :mod:`gateway.errors` classes (the
ones every route of its kind answers are added by :mod:`gateway.openapi.document`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from gateway.apidocs import ASSETS as APIDOCS_ASSETS
from gateway.camara.schemas import KycMatchRequest, NumberVerifyRequest, SwapCheckRequest, SwapDateRequest
from gateway.camara.subscriptions.schemas import SubscriptionRequest
from gateway.campaigns import schemas as c
from gateway.console.schemas import ConsoleTicket, CounterBody, SignInBody, TotpBeginBody, TotpConfirmBody
from gateway.console.sso_views import SsoPut
from gateway.dashboard import schemas as d
from gateway.errors import (
    CampaignStateConflict,
    ChannelIdTaken,
    ChannelNotConfigured,
    DeviceLimitReached,
    FlowStateConflict,
    IdempotencyKeyReused,
    IdentifierNotFound,
    InvalidArgument,
    InvalidCode,
    InvalidCredential,
    InvalidPhoneNumber,
    InvalidProtocol,
    InvalidSink,
    InvalidSinkToken,
    InvalidTokenContext,
    KycInvalidParamCombination,
    LinkExpired,
    LinkNotForThisDevice,
    MissingIdentifier,
    MissingParam,
    NotAuthenticatedByNetwork,
    NotFound,
    NoTicketCalled,
    OneTapOperatorMismatch,
    OneTapTokenInvalid,
    OutOfRange,
    PermissionDenied,
    QueueEmpty,
    QuotaExceeded,
    RecipientOptedOut,
    ServiceNotApplicable,
    TemplateNotApproved,
    TooManyRequests,
    TotpCodeRequired,
    TotpEnrolmentConflict,
    Unauthenticated,
    Unavailable,
    UnnecessaryIdentifier,
    UnsupportedMediaType,
    UsernameTaken,
    VerificationConflict,
    VerificationInProgress,
    WebhookEndpointDisabled,
)
from gateway.flows.pages import STATIC_FILES
from gateway.flows.schemas import BranchCreate, CallNext, LocationShare, RedeemBody, TicketCreate
from gateway.login_check.schemas import DeviceCreate, DeviceQuery, EvaluateRequest, PolicyUpdate
from gateway.oauth.token_endpoint import GRANT_TYPES
from gateway.one_tap.schemas import LoginRequest, VerifyRequest
from gateway.openapi import responses as r
from gateway.openapi.spec import Body, Header, Operation, Reply
from gateway.push.idempotency import HEADER as IDEMPOTENCY_KEY
from gateway.push.schemas import MessageCreate, SmsPolicyBody
from gateway.rich import schemas as rich
from gateway.staff.schemas import AuditQuery, NoBody, PasswordReset, SsoSubject, StaffCreate, StaffUpdate
from gateway.templates.builtin import builtin_names
from gateway.templates.schemas import Approval, BuiltinInstall, Rejection, TemplateCreate
from gateway.tenants.schemas import TenantCreate
from gateway.verify.schemas import CodeBody, RequestCreate
from gateway.webhooks.schemas import WebhookPut

__all__ = ["OPERATIONS"]

FORM = "application/x-www-form-urlencoded"
HTML = "text/html"
_STRING: Mapping[str, Any] = {"type": "string"}
_NO_STORE = {"Cache-Control": Header("`no-store`: never cache this answer.")}
_LOCATION = {"Location": Header("The created resource.")}
_REDIRECT = {
    "Location": Header("Where the browser goes next."),
    "Cache-Control": Header("`no-store`."),
}
_PAGE_HEADERS = {
    "Content-Security-Policy": Header("A strict policy: own scripts and styles only."),
    "Cache-Control": Header("`no-store`."),
}
_HTML = {"type": "string", "description": "An HTML page."}
_EXAMPLE_PASSWORD = "correct horse battery staple"  # noqa: S105 - an example in the API reference  # nosec B105
_EXAMPLE_NEW_PASSWORD = "another horse battery staple"  # noqa: S105 - an example in the API reference  # nosec B105
_CSRF: Mapping[str, Any] = {"X-CSRF-Token": {"type": "string", "description": "The session's CSRF token."}}
_SIGNED_IN = {
    "Set-Cookie": Header("`gw_console`: HttpOnly, SameSite=Strict, Path=/console, Secure outside loopback."),
    "Cache-Control": Header("`no-store`."),
}
_SIGNED_OUT = {
    "Set-Cookie": Header("`gw_console` cleared (Max-Age=0)."),
    "Cache-Control": Header("`no-store`."),
}


_DASHBOARD = (
    "Admins and supervisors; `from`/`to` are Shanghai days (default: the last 7), at most 92 "
    "(`400 OUT_OF_RANGE`). Figures come from daily rollups refreshed in the background (`asOf`)."
)
_RANGE_ERRORS = (InvalidArgument, OutOfRange)


def _page(status: int, description: str) -> Reply:
    """An HTML page answer with the pages' security headers."""
    return Reply(status, description, schema=_HTML, media_types=(HTML,), headers=_PAGE_HEADERS)


_CLIENT_ASSERTION = {
    "client_id": {"type": "string", "description": "With `private_key_jwt`: the client's id."},
    "client_assertion_type": {
        "type": "string",
        "enum": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
    },
    "client_assertion": {"type": "string", "description": "`private_key_jwt`: a JWT signed by the client."},
}
_TOKEN_FORM = {
    "type": "object",
    "properties": {
        "grant_type": {"type": "string", "enum": list(GRANT_TYPES)},
        "scope": {"type": "string", "description": "Space-separated; omitted: every registered scope."},
        "code": {"type": "string"},
        "redirect_uri": {"type": "string"},
        "code_verifier": {"type": "string", "description": "PKCE verifier (required with a code)."},
        "auth_req_id": {"type": "string", "description": "CIBA grant: the `bc-authorize` answer's id."},
        "assertion": {"type": "string", "description": "jwt-bearer grant: the signed assertion."},
        **_CLIENT_ASSERTION,
    },
    "required": ["grant_type"],
}
_BACKCHANNEL_FORM = {
    "type": "object",
    "properties": {
        "scope": {"type": "string", "description": "Space-separated, with `openid`."},
        "login_hint": {"type": "string", "description": "`tel:+<E.164>` or `operatortoken:<SDK token>`."},
        "binding_message": {"type": "string", "description": "Ignored."},
        **_CLIENT_ASSERTION,
    },
    "required": ["scope", "login_hint"],
}
_AUTHORIZE_PARAMS: Mapping[str, Mapping[str, Any]] = {
    "response_type": {"type": "string", "enum": ["code"]},
    "client_id": _STRING,
    "redirect_uri": {"type": "string", "description": "Exactly one of the client's registered URIs."},
    "scope": {"type": "string", "description": "Space-separated, with `openid`."},
    "state": {"type": "string", "maxLength": 512},
    "nonce": {"type": "string", "maxLength": 512},
    "code_challenge": {"type": "string", "pattern": "^[A-Za-z0-9_-]{43}$"},
    "code_challenge_method": {"type": "string", "enum": ["S256"]},
    "login_hint": {"type": "string", "pattern": r"^tel:\+[1-9][0-9]{4,14}$"},
    "prompt": {"type": "string", "description": "`none`, or any of `login consent select_account`."},
}
_AUTHORIZE_FORM = {
    "type": "object",
    "properties": dict(_AUTHORIZE_PARAMS),
    "required": [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "code_challenge",
        "code_challenge_method",
    ],
}
_OPERATOR_PATH = {"operator": {"type": "string", "examples": ["cmcc", "cucc", "ctcc"]}}
_VENDOR_PATH = {"vendor": {"type": "string", "enum": ["huawei", "honor", "xiaomi", "oppo", "vivo"]}}
_CALLBACK_BODY = {
    "type": "object",
    "description": "The operator's own callback format (docs/operator-dialects.md), signed by the operator.",
}

DEMO_NUMBER = "+8613800138000"
"""The cmcc demo subscriber ``gateway up`` seeds; the examples use it."""
_EXAMPLE_TOKEN = "STsid00000000000000000000000000000000"  # noqa: S105  # example value  # nosec B105
_EXAMPLE_H5_TOKEN = "H5HTTPS000000000000000000000000"  # noqa: S105  # example value  # nosec B105
_SWAP_DATE = {"demo": {"phoneNumber": DEMO_NUMBER}}
_SWAP_CHECK = {"demo": {"phoneNumber": DEMO_NUMBER, "maxAge": 240}}
_TEMPLATE = {
    "name": "理赔出险地点确认",
    "category": "notification",
    "signature": "平安保险",
    "text": "您的理赔案件{{claimNo}}需要确认出险地点，请点击 {{link}} 共享您的位置。",  # noqa: RUF001
    "flow": "claim_location",
    "quickApp": {"package": "com.carriergateway.claims", "page": "Location"},
    "params": {"claimNo": {"type": "string", "required": True}},
}
_VERIFICATION_TEMPLATE = {
    "name": "登录验证码",
    "category": "verification",
    "signature": "平安银行",
    "text": "您的验证码是{{code}}，{{minutes}}分钟内有效。请勿告诉他人。",  # noqa: RUF001
    "params": {"minutes": {"type": "number", "required": True}},
}

_OPERATOR_ERRORS = (
    IdentifierNotFound,
    MissingIdentifier,
    UnnecessaryIdentifier,
    ServiceNotApplicable,
)
_SEND_ERRORS = (
    NotFound,
    InvalidArgument,
    TemplateNotApproved,
    MissingParam,
    ServiceNotApplicable,
    RecipientOptedOut,
    InvalidPhoneNumber,
    TooManyRequests,
    QuotaExceeded,
)


def _reference_file(operation_id: str, path: str) -> Operation:
    """A file the ``/docs`` page loads (Swagger UI and its start script, shipped with the gateway)."""
    reply = Reply(
        200,
        "A file of the API reference page.",
        schema=_STRING,
        media_types=(APIDOCS_ASSETS[path],),
        headers={"Cache-Control": Header("Cacheable for an hour.")},
    )
    return Operation(
        operation_id, f"API reference page: {path.rsplit('/', 1)[1]}", "operations", (reply,), database=False
    )


_TABLE: dict[tuple[str, str], Operation] = {
    ("GET", "/healthz"): Operation(
        "healthz", "Liveness", "operations", (Reply(200, "The process is alive.", r.Health),), database=False
    ),
    ("GET", "/readyz"): Operation(
        "readyz",
        "Readiness",
        "operations",
        (Reply(200, "The database and every configured operator answer.", r.Readiness),),
        errors=(Unavailable,),
        database=False,
    ),
    ("GET", "/metrics"): Operation(
        "metrics",
        "Prometheus metrics",
        "operations",
        (
            Reply(
                200,
                "The Prometheus text exposition (all workers' samples under `--workers`).",
                schema=_STRING,
                media_types=("text/plain",),
            ),
        ),
        database=False,
    ),
    ("GET", "/openapi.json"): Operation(
        "openapi",
        "This document",
        "operations",
        (
            Reply(
                200,
                "The OpenAPI 3.1 description of this gateway.",
                schema={"type": "object"},
                headers={"Cache-Control": Header("How long the document may be cached.")},
            ),
        ),
        database=False,
    ),
    ("GET", "/docs"): Operation(
        "apiReference",
        "API reference",
        "operations",
        (
            Reply(
                200,
                "This document rendered by Swagger UI; the page loads only from the gateway.",
                schema=_HTML,
                media_types=(HTML,),
                headers={
                    "Content-Security-Policy": Header("Scripts, styles and data from the gateway only."),
                    "Cache-Control": Header("`no-cache`."),
                },
            ),
        ),
        database=False,
    ),
    ("GET", "/docs/swagger-ui-bundle.js"): _reference_file(
        "apiReferenceScript", "/docs/swagger-ui-bundle.js"
    ),
    ("GET", "/docs/swagger-ui.css"): _reference_file("apiReferenceStyle", "/docs/swagger-ui.css"),
    ("GET", "/docs/reference.js"): _reference_file("apiReferenceStart", "/docs/reference.js"),
    ("GET", "/.well-known/openid-configuration"): Operation(
        "openidConfiguration",
        "OpenID Provider metadata",
        "oauth",
        (Reply(200, "OIDC Discovery 1.0 metadata (the RFC 8414 document's twin).", r.OpenIdConfiguration),),
        database=False,
    ),
    ("GET", "/.well-known/oauth-authorization-server"): Operation(
        "authorizationServerMetadata",
        "OAuth 2.0 Authorization Server Metadata",
        "oauth",
        (
            Reply(
                200,
                "RFC 8414 metadata: the same document as the OpenID configuration.",
                r.OpenIdConfiguration,
            ),
        ),
        database=False,
    ),
    ("GET", "/oauth2/jwks"): Operation(
        "jwks",
        "Token signing keys",
        "oauth",
        (
            Reply(
                200,
                "Public keys (ES256, and RS256 for ID tokens) that verify this gateway's tokens, "
                "retired keys included until their tokens expire.",
                r.JwkSet,
                headers={"Cache-Control": Header("`max-age=300`.")},
            ),
        ),
        database=False,
    ),
    ("GET", "/oauth2/authorize"): Operation(
        "authorize",
        "Authorization endpoint (network-based authentication)",
        "oauth",
        (
            Reply(
                302,
                "To the device's operator, or to `redirect_uri` with `error`, `error_description`, "
                "`state` and `iss` once client and redirect URI are known good.",
                headers=_REDIRECT,
            ),
        ),
        description="OIDC code flow with PKCE (S256, required of every client). Errors about "
        "`client_id` and `redirect_uri` are answered directly (400); every other error is redirected.",
        query_schema=_AUTHORIZE_PARAMS,
        errors=(InvalidArgument,),
    ),
    ("POST", "/oauth2/authorize"): Operation(
        "authorizeForm",
        "Authorization endpoint (form post)",
        "oauth",
        (Reply(302, "As `GET /oauth2/authorize`.", headers=_REDIRECT),),
        body=Body(schema=_AUTHORIZE_FORM, media_types=(FORM,)),
        errors=(InvalidArgument, UnsupportedMediaType),
    ),
    ("GET", "/oauth2/callback/{operator}"): Operation(
        "operatorAuthorizeCallback",
        "Operator return of the authorization endpoint",
        "oauth",
        (Reply(302, "To the client's `redirect_uri` with the code, or with an error.", headers=_REDIRECT),),
        query_schema={"state": _STRING, "code": _STRING, "error": _STRING},
        path_schema=_OPERATOR_PATH,
        errors=(InvalidArgument,),
    ),
    ("GET", "/oauth2/code-entry/{handle}"): Operation(
        "codeEntryPage",
        "Code-entry page of the SMS-code fallback",
        "oauth",
        (_page(200, "The form for the code sent by SMS (a page)."),),
        description=(
            "Off the mobile network, with `login_hint` and without `prompt=none`, the authorization "
            "endpoint sends a code by SMS and the browser here (for tenants with an approved verification "
            "template)."
        ),
        errors=(InvalidArgument,),
    ),
    ("POST", "/oauth2/code-entry/{handle}"): Operation(
        "codeEntrySubmit",
        "A code typed on the code-entry page",
        "oauth",
        (
            Reply(
                302,
                "To the client's `redirect_uri` with the code, or with `access_denied`.",
                headers=_REDIRECT,
            ),
            _page(200, "The form again, with the attempts left (a page)."),
        ),
        body=Body(
            schema={"type": "object", "properties": {"code": _STRING}, "required": ["code"]},
            media_types=(FORM,),
        ),
        errors=(InvalidArgument, UnsupportedMediaType),
    ),
    ("POST", "/oauth2/bc-authorize"): Operation(
        "backchannelAuthorize",
        "CIBA authentication request (poll mode)",
        "oauth",
        (
            Reply(
                200,
                "The request was accepted; poll the token endpoint.",
                r.BackchannelResponse,
                headers=_NO_STORE,
            ),
        ),
        body=Body(schema=_BACKCHANNEL_FORM, media_types=(FORM,)),
        oauth_errors=True,
        client_auth=True,
    ),
    ("POST", "/oauth2/token"): Operation(
        "token",
        "Token endpoint",
        "oauth",
        (
            Reply(
                200,
                "An access token (and an ID token for the OIDC grants).",
                r.TokenResponse,
                headers=_NO_STORE,
            ),
        ),
        description="Grants: " + ", ".join(f"`{g}`" for g in GRANT_TYPES) + ". Client authentication: "
        "`client_secret_basic` or `private_key_jwt` (the jwt-bearer assertion may authenticate the client).",
        body=Body(schema=_TOKEN_FORM, media_types=(FORM,)),
        oauth_errors=True,
        client_auth=True,
    ),
    ("POST", "/admin/tenants"): Operation(
        "createTenant",
        "Create a tenant",
        "admin",
        (Reply(201, "The tenant's client credentials (the secret is shown once).", r.TenantCredentials),),
        body=Body(
            TenantCreate,
            examples={
                "bank": {
                    "name": "Demo Bank",
                    "scopes": ["one-tap:login", "one-tap:verify", "number-verification:verify"],
                    "redirect_uris": ["https://bank.example/callback"],
                }
            },
        ),
    ),
    ("POST", "/admin/templates/{id}/approve"): Operation(
        "approveTemplate",
        "Approve a template",
        "admin",
        (Reply(200, "The template is approved.", r.TemplateState),),
        body=Body(
            Approval, required=False, description="Nothing, or an empty object.", examples={"empty": {}}
        ),
        errors=(NotFound,),
    ),
    ("POST", "/admin/templates/{id}/reject"): Operation(
        "rejectTemplate",
        "Reject a template",
        "admin",
        (Reply(200, "The template is rejected; the tenant sees the reason.", r.TemplateState),),
        body=Body(Rejection, examples={"reason": {"reason": "The signature is not registered."}}),
        errors=(NotFound,),
    ),
    ("POST", "/one-tap/v1/login"): Operation(
        "oneTapLogin",
        "One-tap login",
        "one-tap",
        (Reply(200, "The verified number of the phone that obtained the token.", r.OneTapLogin),),
        description="Exchanges an operator SDK token (single use) for the phone number.",
        body=Body(
            LoginRequest,
            examples={"cmcc": {"token": _EXAMPLE_TOKEN, "operator": "cmcc"}},
        ),
        errors=(OneTapTokenInvalid, OneTapOperatorMismatch),
        operator=True,
    ),
    ("POST", "/one-tap/v1/verify"): Operation(
        "oneTapVerify",
        "Local number check",
        "one-tap",
        (Reply(200, "Whether the phone that obtained the token holds the number.", r.OneTapVerify),),
        body=Body(
            VerifyRequest,
            examples={"cmcc": {"token": _EXAMPLE_TOKEN, "phoneNumber": DEMO_NUMBER}},
        ),
        errors=(OneTapTokenInvalid, OneTapOperatorMismatch),
        operator=True,
    ),
    ("POST", "/number-verification/v2/verify"): Operation(
        "numberVerificationVerify",
        "Number Verification: verify",
        "number-verification",
        (Reply(200, "Whether the number is the device's.", r.NumberVerificationMatch),),
        description="3-legged tokens from network authentication only; each token is single use.",
        body=Body(
            NumberVerifyRequest,
            examples={
                "plain": {"phoneNumber": DEMO_NUMBER},
                "hashed": {
                    "hashedPhoneNumber": "ec61f3c620a98bdead8c1f1f0ae747abd1b62a0c2dba4fd4bc22cf0d1d8653e5"
                },
            },
        ),
        errors=(NotAuthenticatedByNetwork,),
    ),
    ("GET", "/number-verification/v2/device-phone-number"): Operation(
        "numberVerificationShare",
        "Number Verification: device phone number",
        "number-verification",
        (Reply(200, "The device's number.", r.DevicePhoneNumber),),
        description="3-legged tokens from network authentication only; each token is single use.",
        errors=(NotAuthenticatedByNetwork,),
    ),
    ("POST", "/sim-swap/v2/check"): Operation(
        "simSwapCheck",
        "SIM Swap: check",
        "sim-swap",
        (Reply(200, "Whether the SIM changed within `maxAge` hours.", r.SwapCheck),),
        body=Body(SwapCheckRequest, examples=_SWAP_CHECK),
        errors=(OutOfRange, *_OPERATOR_ERRORS),
        operator=True,
    ),
    ("POST", "/sim-swap/v2/retrieve-date"): Operation(
        "simSwapRetrieveDate",
        "SIM Swap: retrieve date",
        "sim-swap",
        (Reply(200, "The latest SIM change, as far as the operator may disclose it.", r.SimSwapDate),),
        body=Body(SwapDateRequest, examples=_SWAP_DATE),
        errors=_OPERATOR_ERRORS,
        operator=True,
    ),
    ("POST", "/device-swap/v1/check"): Operation(
        "deviceSwapCheck",
        "Device Swap: check",
        "device-swap",
        (Reply(200, "Whether the device changed within `maxAge` hours.", r.SwapCheck),),
        body=Body(SwapCheckRequest, examples=_SWAP_CHECK),
        errors=(OutOfRange, *_OPERATOR_ERRORS),
        operator=True,
    ),
    ("POST", "/device-swap/v1/retrieve-date"): Operation(
        "deviceSwapRetrieveDate",
        "Device Swap: retrieve date",
        "device-swap",
        (Reply(200, "The latest device change, as far as the operator may disclose it.", r.DeviceSwapDate),),
        body=Body(SwapDateRequest, examples=_SWAP_DATE),
        errors=_OPERATOR_ERRORS,
        operator=True,
    ),
    ("POST", "/kyc-match/v0.4/match"): Operation(
        "kycMatch",
        "KYC Match",
        "kyc-match",
        (Reply(200, "A verdict per attribute sent.", r.KycMatchResult),),
        body=Body(
            KycMatchRequest,
            examples={"demo": {"phoneNumber": DEMO_NUMBER, "name": "张伟", "birthdate": "1990-01-01"}},
        ),
        errors=(
            KycInvalidParamCombination,
            InvalidTokenContext,
            IdentifierNotFound,
            MissingIdentifier,
            ServiceNotApplicable,
        ),
        operator=True,
    ),
    ("POST", "/sim-swap-subscriptions/v0.3/subscriptions"): Operation(
        "createSimSwapSubscription",
        "Subscribe to SIM swaps",
        "sim-swap-subscriptions",
        (Reply(201, "The subscription (the signing secret is shown once).", r.SimSwapSubscriptionCreated),),
        body=Body(
            SubscriptionRequest,
            examples={
                "demo": {
                    "protocol": "HTTP",
                    "sink": "https://bank.example/sim-swap-events",
                    "types": ["org.camaraproject.sim-swap-subscriptions.v0.swapped"],
                    "config": {
                        "subscriptionDetail": {"phoneNumber": DEMO_NUMBER},
                        "subscriptionMaxEvents": 10,
                    },
                }
            },
        ),
        errors=(
            InvalidArgument,
            InvalidProtocol,
            InvalidSink,
            InvalidCredential,
            InvalidSinkToken,
            *_OPERATOR_ERRORS,
        ),
        operator=True,
    ),
    ("GET", "/sim-swap-subscriptions/v0.3/subscriptions"): Operation(
        "listSimSwapSubscriptions",
        "List SIM swap subscriptions",
        "sim-swap-subscriptions",
        (
            Reply(
                200,
                "The caller's subscriptions.",
                schema={"type": "array", "items": {"$ref": "#/components/schemas/SimSwapSubscription"}},
            ),
        ),
    ),
    ("GET", "/sim-swap-subscriptions/v0.3/subscriptions/{subscriptionId}"): Operation(
        "getSimSwapSubscription",
        "Read a SIM swap subscription",
        "sim-swap-subscriptions",
        (Reply(200, "The subscription.", r.SimSwapSubscription),),
        errors=(NotFound,),
    ),
    ("DELETE", "/sim-swap-subscriptions/v0.3/subscriptions/{subscriptionId}"): Operation(
        "deleteSimSwapSubscription",
        "Delete a SIM swap subscription",
        "sim-swap-subscriptions",
        (Reply(204, "Deleted (an active subscription ends with a `subscription-ended` event)."),),
        errors=(NotFound,),
    ),
    ("POST", "/login-check/v1/evaluate"): Operation(
        "evaluateLogin",
        "Evaluate a login",
        "login-check",
        (
            Reply(
                200,
                "allow / challenge / deny, with reasons; operator failures are reasons.",
                r.LoginAssessment,
            ),
        ),
        body=Body(
            EvaluateRequest, examples={"demo": {"phoneNumber": DEMO_NUMBER, "deviceId": "demo-phone-1"}}
        ),
    ),
    ("POST", "/login-check/v1/devices"): Operation(
        "bindDevice",
        "Bind a device to a number",
        "login-check",
        (
            Reply(201, "The new binding.", r.DeviceBindingOut),
            Reply(200, "The existing binding of this number and device (unchanged).", r.DeviceBindingOut),
        ),
        body=Body(
            DeviceCreate,
            examples={"demo": {"phoneNumber": DEMO_NUMBER, "deviceId": "demo-phone-1", "label": "iPhone"}},
        ),
        errors=(DeviceLimitReached,),
    ),
    ("GET", "/login-check/v1/devices"): Operation(
        "listDevices",
        "Devices bound to a number",
        "login-check",
        (Reply(200, "The tenant's bindings of the number.", r.DeviceBindings),),
        query=DeviceQuery,
        errors=(InvalidArgument,),
    ),
    ("DELETE", "/login-check/v1/devices/{id}"): Operation(
        "unbindDevice",
        "Remove a binding",
        "login-check",
        (Reply(204, "Removed."),),
        errors=(NotFound,),
    ),
    ("GET", "/login-check/v1/policy"): Operation(
        "getLoginCheckPolicy",
        "Read the login-check policy",
        "login-check",
        (Reply(200, "The tenant's thresholds (the defaults until it sets its own).", r.LoginCheckPolicy),),
    ),
    ("PUT", "/login-check/v1/policy"): Operation(
        "putLoginCheckPolicy",
        "Replace the login-check policy",
        "login-check",
        (
            Reply(
                200, "The thresholds now in force (an omitted field takes the default).", r.LoginCheckPolicy
            ),
        ),
        body=Body(PolicyUpdate, examples={"stricter": {"simSwapMaxAgeHours": 720, "attemptsPerNumber": 5}}),
    ),
    ("POST", "/push/v1/templates"): Operation(
        "createTemplate",
        "Submit an SMS template",
        "templates",
        (
            Reply(
                201,
                "Stored: pending review (approved at once for sandbox tenants).",
                r.TemplateState,
                headers=_LOCATION,
            ),
        ),
        body=Body(TemplateCreate, examples={"claim": _TEMPLATE, "verification": _VERIFICATION_TEMPLATE}),
        errors=(InvalidArgument, NotFound),
    ),
    ("POST", "/push/v1/templates/builtin/{name}"): Operation(
        "installBuiltinTemplate",
        "Install a built-in template",
        "templates",
        (Reply(201, "Stored, as `POST /push/v1/templates`.", r.TemplateState, headers=_LOCATION),),
        body=Body(BuiltinInstall, examples={"signature": {"signature": "平安保险"}}),
        path_schema={"name": {"type": "string", "examples": builtin_names()}},
        errors=(InvalidArgument, NotFound),
    ),
    ("GET", "/push/v1/templates/{id}"): Operation(
        "getTemplate",
        "Read a template",
        "templates",
        (Reply(200, "The template, its review state and a segment estimate.", r.TemplateOut),),
        errors=(NotFound,),
    ),
    ("PUT", "/push/v1/webhook"): Operation(
        "putWebhook",
        "Register the webhook endpoint",
        "webhooks",
        (Reply(200, "Registered; the signing secret is shown once.", r.WebhookRegistered),),
        body=Body(
            WebhookPut,
            examples={
                "demo": {
                    "url": "https://bank.example/webhooks",
                    "events": ["message.delivered", "link.opened"],
                }
            },
        ),
        errors=(InvalidArgument,),
    ),
    ("GET", "/push/v1/webhook"): Operation(
        "getWebhook",
        "Read the webhook endpoint",
        "webhooks",
        (Reply(200, "The endpoint, without its secret.", r.WebhookEndpoint),),
        errors=(NotFound,),
    ),
    ("DELETE", "/push/v1/webhook"): Operation(
        "deleteWebhook",
        "Remove the webhook endpoint",
        "webhooks",
        (Reply(204, "Removed; pending deliveries fail."),),
        errors=(NotFound,),
    ),
    ("GET", "/push/v1/webhook/deliveries/{id}"): Operation(
        "getWebhookDelivery",
        "Read a webhook delivery",
        "webhooks",
        (
            Reply(
                200, "The delivery (its id is the `webhook-id` header) and its attempts.", r.WebhookDelivery
            ),
        ),
        errors=(NotFound,),
    ),
    ("POST", "/push/v1/messages"): Operation(
        "sendMessage",
        "Send an SMS (with a link, or a verification code)",
        "push",
        (
            Reply(
                202,
                "Queued (a replay of the same `Idempotency-Key` and body answers the first response).",
                r.MessageAccepted,
                headers={
                    **_LOCATION,
                    "Idempotent-Replayed": Header("`true` on a replayed answer.", required=False),
                },
            ),
        ),
        body=Body(
            MessageCreate,
            examples={
                "claim": {
                    "templateId": "9b2f6c1e-0d4a-4f57-9a57-3c1a2b4d5e6f",
                    "to": DEMO_NUMBER,
                    "params": {"claimNo": "BA2026-0042"},
                },
                "verification": {
                    "templateId": "4c8e2a7d-1b3f-4e9a-8d6c-5f7a9b0c1d2e",
                    "to": DEMO_NUMBER,
                    "params": {"code": "482913", "minutes": 5},
                    "ttlSeconds": 300,
                },
            },
        ),
        request_headers={IDEMPOTENCY_KEY: {"type": "string", "pattern": "^[\\x21-\\x7e]{1,255}$"}},
        errors=(*_SEND_ERRORS, IdempotencyKeyReused),
    ),
    ("GET", "/push/v1/messages/{id}"): Operation(
        "getMessage",
        "Read a message",
        "push",
        (
            Reply(
                200, "Status, masked recipient, link (none for a verification SMS) and history.", r.MessageOut
            ),
        ),
        errors=(NotFound,),
    ),
    ("GET", "/push/v1/messages/{id}/location"): Operation(
        "getSharedLocation",
        "Read the location shared through a message",
        "flows",
        (
            Reply(
                200,
                "The location the holder shared through the message's claim-location link.",
                r.SharedLocationOut,
                headers=_NO_STORE,
            ),
        ),
        description=(
            "The same location `claim.location_shared` carried, for a tenant that missed or does not "
            "receive webhooks. `404` while nothing is shared (not yet, or declined), for a message "
            "without a claim-location flow, and for another tenant's message."
        ),
        errors=(NotFound,),
    ),
    ("POST", "/push/v1/campaigns"): Operation(
        "createCampaign",
        "Create a campaign",
        "campaigns",
        (Reply(201, "A draft: add recipients, then start it.", c.CampaignCreated, headers=_LOCATION),),
        description=(
            "`rate` is messages per second (1 to 1000, default 50). `channels` (a ladder ending in `sms`) "
            "is stored as given; today every message goes as a text SMS."
        ),
        body=Body(
            c.CampaignCreate,
            examples={
                "renewals": {
                    "templateId": "9b2f6c1e-0d4a-4f57-9a57-3c1a2b4d5e6f",
                    "name": "renewals",
                    "rate": 100,
                }
            },
        ),
        errors=(NotFound, TemplateNotApproved),
    ),
    ("GET", "/push/v1/campaigns"): Operation(
        "listCampaigns",
        "List campaigns",
        "campaigns",
        (Reply(200, "Newest first; `nextBefore` is the `before` of the next page.", c.CampaignPage),),
        query=c.CampaignList,
    ),
    ("GET", "/push/v1/campaigns/{id}"): Operation(
        "getCampaign",
        "Read a campaign and its progress",
        "campaigns",
        (
            Reply(
                200, "Recipients per state, their messages per status, the estimated finish.", c.CampaignOut
            ),
        ),
        errors=(NotFound,),
    ),
    ("POST", "/push/v1/campaigns/{id}/recipients"): Operation(
        "addCampaignRecipients",
        "Add a chunk of recipients",
        "campaigns",
        (Reply(202, "Stored all or nothing; what became of each line.", c.ChunkReportOut),),
        description=(
            "At most 20,000 recipients and 4 MiB per request, 100,000 per campaign (`413`); while the "
            "campaign is draft, scheduled or paused (`409` otherwise). Numbers may be national."
        ),
        body=Body(
            schema={"type": "string", "description": "CSV with a header row, or one JSON object a line."},
            media_types=("text/csv", "application/x-ndjson"),
            examples={"csv": "phoneNumber,claimNo\n13800138000,BA2026-0042\n"},
        ),
        errors=(NotFound, CampaignStateConflict, InvalidArgument, UnsupportedMediaType, TemplateNotApproved),
    ),
    ("POST", "/push/v1/campaigns/{id}/start"): Operation(
        "startCampaign",
        "Start a campaign",
        "campaigns",
        (Reply(200, "Running, or scheduled until `scheduledAt`.", c.CampaignOut),),
        errors=(NotFound, CampaignStateConflict),
    ),
    ("POST", "/push/v1/campaigns/{id}/pause"): Operation(
        "pauseCampaign",
        "Pause a campaign",
        "campaigns",
        (Reply(200, "Paused after the round in flight.", c.CampaignOut),),
        errors=(NotFound, CampaignStateConflict),
    ),
    ("POST", "/push/v1/campaigns/{id}/resume"): Operation(
        "resumeCampaign",
        "Resume a paused campaign",
        "campaigns",
        (Reply(200, "Running (or scheduled while `scheduledAt` is ahead).", c.CampaignOut),),
        errors=(NotFound, CampaignStateConflict),
    ),
    ("POST", "/push/v1/campaigns/{id}/cancel"): Operation(
        "cancelCampaign",
        "Cancel a campaign",
        "campaigns",
        (Reply(200, "Cancelled: recipients not yet taken are never sent.", c.CampaignOut),),
        errors=(NotFound, CampaignStateConflict),
    ),
    ("GET", "/push/v1/usage"): Operation(
        "getSmsUsage",
        "Today's SMS against the budget",
        "push",
        (
            Reply(
                200, "Messages and segments of the budget day, what is left, and the limits.", r.SmsUsageOut
            ),
        ),
    ),
    ("PUT", "/admin/tenants/{id}/sms-policy"): Operation(
        "putSmsPolicy",
        "Set a tenant's SMS limits",
        "admin",
        (Reply(200, "The policy in force (every process uses it within 10 s).", r.SmsPolicyStored),),
        body=Body(
            SmsPolicyBody,
            description="The whole policy; an omitted figure takes its default.",
            examples={"campaigns": {"prefixPer10Min": 200, "prefixPerDay": 2000, "dailyBudget": 200000}},
        ),
        errors=(NotFound,),
    ),
    ("POST", "/admin/tenants/{tenant_id}/staff"): Operation(
        "createStaffMember",
        "Create a staff account",
        "staff",
        (Reply(201, "The account, enabled, without TOTP (the password is never shown).", r.StaffMemberOut),),
        description="Usernames are unique across the gateway and stored in lower case; the password "
        "needs 12 to 128 characters and is refused when it contains the username, is a common password "
        "or a sequence (docs/staff.md). `branches` are ids of the tenant's branches.",
        body=Body(
            StaffCreate,
            examples={
                "teller": {
                    "username": "li.na@pingan",
                    "password": _EXAMPLE_PASSWORD,
                    "role": "teller",
                    "branches": ["9b2f6c1e-0d4a-4f57-9a57-3c1a2b4d5e6f"],
                }
            },
        ),
        errors=(NotFound, UsernameTaken),
    ),
    ("GET", "/admin/tenants/{tenant_id}/staff"): Operation(
        "listStaffMembers",
        "List a tenant's staff accounts",
        "staff",
        (Reply(200, "Every account of the tenant, disabled ones included, by username.", r.StaffList),),
        errors=(NotFound,),
    ),
    ("PATCH", "/admin/tenants/{tenant_id}/staff/{staff_id}"): Operation(
        "updateStaffMember",
        "Change a staff account's role or branches",
        "staff",
        (Reply(200, "The account as changed.", r.StaffMemberOut),),
        body=Body(
            StaffUpdate,
            description="An omitted or null field stays as it is.",
            examples={"supervisor": {"role": "supervisor"}, "no branches": {"branches": []}},
        ),
        errors=(NotFound,),
    ),
    ("POST", "/admin/tenants/{tenant_id}/staff/{staff_id}/disable"): Operation(
        "disableStaffMember",
        "Disable a staff account",
        "staff",
        (Reply(200, "The account; it can no longer sign in (again: no change).", r.StaffMemberOut),),
        body=Body(NoBody, required=False, description="Nothing, or an empty object.", examples={"empty": {}}),
        errors=(NotFound,),
    ),
    ("POST", "/admin/tenants/{tenant_id}/staff/{staff_id}/enable"): Operation(
        "enableStaffMember",
        "Enable a staff account",
        "staff",
        (Reply(200, "The account; it can sign in again (again: no change).", r.StaffMemberOut),),
        body=Body(NoBody, required=False, description="Nothing, or an empty object.", examples={"empty": {}}),
        errors=(NotFound,),
    ),
    ("POST", "/admin/tenants/{tenant_id}/staff/{staff_id}/reset-password"): Operation(
        "resetStaffPassword",
        "Set a staff account's password",
        "staff",
        (Reply(200, "The account; its TOTP, if any, stays in force.", r.StaffMemberOut),),
        body=Body(PasswordReset, examples={"new": {"password": _EXAMPLE_NEW_PASSWORD}}),
        errors=(NotFound,),
    ),
    ("POST", "/admin/tenants/{tenant_id}/staff/{staff_id}/reset-totp"): Operation(
        "resetStaffTotp",
        "Remove a staff account's TOTP",
        "staff",
        (Reply(200, "The account without TOTP; the member may enrol again.", r.StaffMemberOut),),
        body=Body(NoBody, required=False, description="Nothing, or an empty object.", examples={"empty": {}}),
        errors=(NotFound,),
    ),
    ("PUT", "/admin/tenants/{tenant_id}/staff/{staff_id}/sso-subject"): Operation(
        "linkStaffSso",
        "Link a staff account to its identity-provider subject",
        "staff",
        (Reply(200, "The account, `ssoSubject` set (again: no change).", r.StaffMemberOut),),
        description="Single sign-on finds the member whose `ssoSubject` is the ID token's `sub`, within "
        "the tenant only. A subject already linked to another member of the tenant is a 400.",
        body=Body(SsoSubject, examples={"employee": {"subject": "employee-0042"}}),
        errors=(NotFound,),
    ),
    ("DELETE", "/admin/tenants/{tenant_id}/staff/{staff_id}/sso-subject"): Operation(
        "unlinkStaffSso",
        "Unlink a staff account from the identity provider",
        "staff",
        (Reply(200, "The account, `ssoSubject` null: single sign-on no longer finds it.", r.StaffMemberOut),),
        errors=(NotFound,),
    ),
    ("PUT", "/admin/tenants/{tenant_id}/sso"): Operation(
        "putTenantSso",
        "Set a tenant's identity provider for console single sign-on",
        "staff",
        (
            Reply(
                200, "The provider (never the secret) and the redirect URI to register there.", r.SsoConfigOut
            ),
        ),
        description="OIDC authorization code flow with PKCE; the client secret is stored encrypted. An "
        "issuer URL must be https and public (unless private webhooks are allowed). A new issuer unlinks "
        "the tenant's members (`ssoSubject` null).",
        body=Body(
            SsoPut,
            examples={
                "bank": {
                    "issuer": "https://sso.example-bank.cn/realms/staff",
                    "clientId": "carrier-gateway",
                    "clientSecret": "s3cr3t-from-the-idp",
                }
            },
        ),
        errors=(NotFound,),
    ),
    ("GET", "/admin/tenants/{tenant_id}/sso"): Operation(
        "getTenantSso",
        "Read a tenant's identity provider",
        "staff",
        (Reply(200, "The provider (never the secret).", r.SsoConfigOut, headers=_NO_STORE),),
        errors=(NotFound,),
    ),
    ("DELETE", "/admin/tenants/{tenant_id}/sso"): Operation(
        "deleteTenantSso",
        "Remove a tenant's identity provider",
        "staff",
        (Reply(204, "Removed: the sign-in page no longer offers single sign-on."),),
        errors=(NotFound,),
    ),
    ("GET", "/admin/tenants/{tenant_id}/audit"): Operation(
        "staffAuditLog",
        "Read a tenant's audit log",
        "staff",
        (Reply(200, "Entries newest first; `nextBefore` is the `before` of the next page.", r.AuditPage),),
        query=AuditQuery,
        errors=(NotFound,),
    ),
    ("POST", "/operator-callbacks/{operator}"): Operation(
        "operatorCallback",
        "Operator delivery reports and replies",
        "push",
        (Reply(200, "Applied.", r.CallbackReceipt),),
        description="Authenticated by the operator's own signature, not by a bearer.",
        body=Body(schema=_CALLBACK_BODY, media_types=("application/json", FORM)),
        path_schema=_OPERATOR_PATH,
        errors=(NotFound, Unauthenticated, InvalidArgument),
    ),
    ("POST", "/verify/v1/requests"): Operation(
        "createVerification",
        "Start a verification workflow",
        "verify",
        (
            Reply(
                202,
                "Started: the first step runs (an SMS first step has sent its code).",
                r.VerifyAccepted,
                headers=_LOCATION,
            ),
        ),
        description=(
            "Proves that the customer holds `phoneNumber`: a `network` step completes when the phone "
            "opens `checkUrl` over its mobile data and its operator identifies the number; an `sms` step "
            "sends a code to check with `POST …/check`. A step that fails or runs out of `channelTimeout` "
            "starts the next one by itself."
        ),
        body=Body(
            RequestCreate,
            examples={
                "network, then code": {
                    "phoneNumber": DEMO_NUMBER,
                    "workflow": [{"channel": "network"}, {"channel": "sms"}],
                    "clientReference": "login-20261207-0042",
                },
            },
        ),
        errors=(
            InvalidPhoneNumber,
            NotFound,
            TemplateNotApproved,
            MissingParam,
            VerificationInProgress,
            TooManyRequests,
            QuotaExceeded,
            ServiceNotApplicable,
        ),
    ),
    ("GET", "/verify/v1/requests/{id}"): Operation(
        "getVerification",
        "Read a verification request",
        "verify",
        (
            Reply(
                200,
                "Status, the number masked, and each step's outcome.",
                r.VerifyRequestOut,
                headers=_NO_STORE,
            ),
        ),
        errors=(NotFound,),
    ),
    ("POST", "/verify/v1/requests/{id}/check"): Operation(
        "checkVerificationCode",
        "Check the code the customer typed",
        "verify",
        (Reply(200, "The right code: the request is completed.", r.VerifyRequestOut, headers=_NO_STORE),),
        body=Body(CodeBody, examples={"code": {"code": "482913"}}),
        errors=(InvalidCode, NotFound, VerificationConflict),
    ),
    ("POST", "/verify/v1/requests/{id}/next"): Operation(
        "nextVerificationStep",
        "Skip to the next step",
        "verify",
        (
            Reply(
                200,
                "The next step runs (on the last SMS step: a new code was sent).",
                r.VerifyRequestOut,
                headers=_NO_STORE,
            ),
        ),
        errors=(NotFound, VerificationConflict),
    ),
    ("DELETE", "/verify/v1/requests/{id}"): Operation(
        "cancelVerification",
        "Cancel a verification request",
        "verify",
        (Reply(204, "Cancelled."),),
        errors=(NotFound, VerificationConflict),
    ),
    ("GET", "/verify/v1/check/{token}"): Operation(
        "openVerificationCheck",
        "The check URL the phone opens",
        "pages",
        (
            Reply(302, "To the phone's operator for network authentication.", headers=_REDIRECT),
            _page(200, "The code form, or the request's result (a page)."),
            _page(404, "Not a check URL of ours (a page)."),
        ),
    ),
    ("POST", "/verify/v1/check/{token}"): Operation(
        "submitVerificationCode",
        "The code typed on the check page",
        "pages",
        (
            _page(200, "The result, or the form again with the attempts left (a page)."),
            _page(404, "Not a check URL of ours (a page)."),
        ),
        body=Body(
            schema={"type": "object", "properties": {"code": _STRING}, "required": ["code"]},
            media_types=(FORM,),
        ),
        errors=(InvalidArgument,),
    ),
    ("GET", "/verify/v1/callback/{operator}"): Operation(
        "operatorVerifyCallback",
        "Operator return of a network step",
        "verify",
        (
            Reply(302, "Back to the request's check URL.", headers=_REDIRECT),
            _page(404, "No network step waits for this state (a page)."),
        ),
        query_schema={"state": _STRING, "code": _STRING, "error": _STRING},
        path_schema=_OPERATOR_PATH,
    ),
    ("GET", "/l/{code}"): Operation(
        "landingPage",
        "Landing page of a push link",
        "pages",
        (
            _page(200, "Tries the quick app, else runs the flow as an H5 page."),
            _page(404, "No such link (a page)."),
            _page(410, "The link expired (a page)."),
        ),
    ),
    ("POST", "/push/v1/links/{code}/redeem"): Operation(
        "redeemLink",
        "Redeem a push link",
        "flows",
        (
            Reply(
                200,
                "A flow session for the holder of the recipient's number.",
                r.Redemption,
                headers=_NO_STORE,
            ),
        ),
        description=(
            "The opening device proves the recipient's number with an operator token. Failures are "
            "counted per device (the `gw_device` cookie every answer without a valid one sets) and "
            "per source address, never per link; a device refused for this link within the window "
            "is refused again without an operator check (docs/flows.md)."
        ),
        body=Body(RedeemBody, examples={"h5": {"token": _EXAMPLE_H5_TOKEN, "operator": "cmcc"}}),
        errors=(
            NotFound,
            LinkExpired,
            LinkNotForThisDevice,
            TooManyRequests,
            OneTapTokenInvalid,
            OneTapOperatorMismatch,
        ),
        operator=True,
    ),
    ("POST", "/flows/v1/claim-location"): Operation(
        "shareLocation",
        "Claim location: share",
        "flows",
        (Reply(200, "Shared with the insurer.", r.LocationOutcome, headers=_NO_STORE),),
        body=Body(
            LocationShare,
            examples={"shanghai": {"latitude": 31.2304, "longitude": 121.4737, "accuracyMeters": 25}},
        ),
        errors=(PermissionDenied, FlowStateConflict, NotFound),
    ),
    ("POST", "/flows/v1/claim-location/decline"): Operation(
        "declineLocation",
        "Claim location: decline",
        "flows",
        (Reply(200, "Declined.", r.LocationOutcome, headers=_NO_STORE),),
        errors=(PermissionDenied, FlowStateConflict, NotFound),
    ),
    ("GET", "/flows/v1/branch-queue"): Operation(
        "myTicket",
        "Branch queue: my ticket",
        "flows",
        (Reply(200, "Status, position and estimated wait.", r.QueueTicket, headers=_NO_STORE),),
        errors=(PermissionDenied, NotFound),
    ),
    ("POST", "/flows/v1/branch-queue/cancel"): Operation(
        "cancelTicket",
        "Branch queue: leave",
        "flows",
        (Reply(200, "Cancelled (again: the same answer).", r.QueueTicket, headers=_NO_STORE),),
        errors=(PermissionDenied, FlowStateConflict, NotFound),
    ),
    ("POST", "/push/v1/branches"): Operation(
        "createBranch",
        "Create a branch",
        "branches",
        (
            Reply(
                201,
                "The branch (its call template is created when not given).",
                r.BranchOut,
                headers=_LOCATION,
            ),
        ),
        body=Body(
            BranchCreate,
            examples={"demo": {"name": "陆家嘴支行", "templateId": "9b2f6c1e-0d4a-4f57-9a57-3c1a2b4d5e6f"}},
        ),
        errors=(NotFound, InvalidArgument),
    ),
    ("GET", "/push/v1/branches/{id}"): Operation(
        "getBranch",
        "Read a branch",
        "branches",
        (Reply(200, "The branch.", r.BranchOut),),
        errors=(NotFound,),
    ),
    ("POST", "/push/v1/branches/{id}/tickets"): Operation(
        "issueTicket",
        "Issue a ticket",
        "branches",
        (Reply(201, "The ticket, sent by SMS.", r.IssuedTicketOut),),
        body=Body(TicketCreate, examples={"demo": {"phoneNumber": DEMO_NUMBER, "service": "对公业务"}}),
        errors=(*_SEND_ERRORS, Unavailable),
    ),
    ("POST", "/push/v1/branches/{id}/call-next"): Operation(
        "callNext",
        "Call the next customer",
        "branches",
        (Reply(200, "Who was called to which counter.", r.CalledTicketOut),),
        body=Body(CallNext, examples={"number": {"counter": 3}, "label": {"counter": "A3"}}),
        errors=(NotFound, TemplateNotApproved, QueueEmpty, Unavailable),
    ),
    ("GET", "/push/v1/branches/{id}/queue"): Operation(
        "branchQueue",
        "A branch's queue",
        "branches",
        (Reply(200, "Waiting tickets (numbers masked) and recent calls.", r.BranchQueue),),
        errors=(NotFound,),
    ),
    ("GET", "/console"): Operation(
        "consoleRoot",
        "The console without its slash",
        "pages",
        (Reply(302, "To the sign-in page, `/console/`.", headers=_REDIRECT),),
        database=False,
    ),
    ("GET", "/console/"): Operation(
        "consoleSignInPage",
        "Console sign-in page",
        "pages",
        (_page(200, "Sign-in; once signed in, the member's branches."),),
        description="`?tenant=<id>` adds **使用银行账号登录 · Sign in with bank account** when the "
        "tenant has an identity provider; `sso_error` shows why a single sign-on failed.",
        query_schema={
            "tenant": {"type": "string"},
            "sso_error": {
                "type": "string",
                "enum": ["not_configured", "unreachable", "expired", "denied", "invalid_token", "no_account"],
            },
        },
    ),
    ("GET", "/console/sso/{tenant_id}/start"): Operation(
        "consoleSsoStart",
        "Sign in with the bank's identity provider",
        "pages",
        (
            Reply(
                303,
                "To the provider's authorize endpoint (code, PKCE S256, state, nonce), with the "
                "`gw_console_sso` cookie binding the sign-in to the browser; on failure to `/console/` "
                "with `sso_error`.",
                headers=_REDIRECT,
            ),
        ),
    ),
    ("GET", "/console/sso/callback"): Operation(
        "consoleSsoCallback",
        "Return from the bank's identity provider",
        "pages",
        (
            Reply(
                303,
                "Signed in: the `gw_console` cookie and to `/console/`; any failure: to "
                "`/console/?tenant=…&sso_error=<reason>`, which says why in words.",
                headers=_REDIRECT,
            ),
        ),
        query_schema={
            "state": {"type": "string"},
            "code": {"type": "string"},
            "error": {"type": "string"},
            "iss": {"type": "string"},
        },
    ),
    ("GET", "/console/branches/{id}"): Operation(
        "tellerDeskPage",
        "Teller desk page",
        "pages",
        (
            _page(200, "The desk; without a live session it shows the sign-in form."),
            _page(404, "Not a branch id, or not a branch the signed-in member serves (a page)."),
        ),
    ),
    ("GET", "/console/security"): Operation(
        "consoleSecurityPage",
        "Two-step verification page",
        "pages",
        (
            _page(
                200,
                "The member's TOTP: on, or enrolment by QR code; without a live session, the sign-in form.",
            ),
        ),
        description="Its CSP also allows `data:` images (the QR code).",
        database=False,
    ),
    ("POST", "/console/api/session"): Operation(
        "consoleSignIn",
        "Sign in to the console",
        "console",
        (
            Reply(
                200,
                "Signed in: the session cookie and its CSRF token.",
                r.ConsoleSessionOut,
                headers=_SIGNED_IN,
            ),
        ),
        description="Same-origin only. Failed sign-ins are throttled per username, per address and per both "
        "(429 with Retry-After); a wrong username, password or code, or a disabled account, is one "
        "generic 401; `401 TOTP_REQUIRED` asks for the account's TOTP code.",
        body=Body(
            SignInBody, examples={"teller": {"username": "li.na@pingan", "password": _EXAMPLE_PASSWORD}}
        ),
        errors=(Unauthenticated, TotpCodeRequired, PermissionDenied, TooManyRequests),
    ),
    ("GET", "/console/api/session"): Operation(
        "consoleSession",
        "Who is signed in",
        "console",
        (
            Reply(
                200,
                "The member, the CSRF token and the session's ends (the idle end moves).",
                r.ConsoleSessionOut,
                headers=_NO_STORE,
            ),
        ),
    ),
    ("DELETE", "/console/api/session"): Operation(
        "consoleSignOut",
        "Sign out of the console",
        "console",
        (
            Reply(
                204,
                "Signed out: the session is ended on the server and the cookie cleared.",
                headers=_SIGNED_OUT,
            ),
        ),
        request_headers=_CSRF,
    ),
    ("GET", "/console/api/branches"): Operation(
        "consoleBranches",
        "The member's branches",
        "console",
        (
            Reply(
                200,
                "The branches the member serves (an admin: all of the tenant's).",
                r.ConsoleBranches,
                headers=_NO_STORE,
            ),
        ),
    ),
    ("GET", "/console/api/branches/{id}/queue"): Operation(
        "deskQueue",
        "A desk's queue",
        "console",
        (Reply(200, "Waiting tickets (numbers masked) and recent calls.", r.BranchQueue, headers=_NO_STORE),),
        errors=(NotFound,),
    ),
    ("GET", "/console/api/branches/{id}/calls"): Operation(
        "deskCalls",
        "A desk's calls of the day",
        "console",
        (
            Reply(
                200, "Called and no-show tickets of the day, newest first.", r.ConsoleCalls, headers=_NO_STORE
            ),
        ),
        errors=(NotFound,),
    ),
    ("POST", "/console/api/branches/{id}/tickets"): Operation(
        "deskIssueTicket",
        "Issue a ticket at the desk",
        "console",
        (Reply(201, "The ticket, sent by SMS.", r.IssuedTicketOut, headers=_NO_STORE),),
        description="`phoneNumber` may be national (`13800138000`, spaces and dashes allowed) or E.164.",
        body=Body(ConsoleTicket, examples={"national": {"phoneNumber": "13800138000"}}),
        request_headers=_CSRF,
        errors=(*_SEND_ERRORS, Unavailable),
    ),
    ("POST", "/console/api/branches/{id}/call-next"): Operation(
        "deskCallNext",
        "Call the next customer from the desk",
        "console",
        (Reply(200, "Who was called to which counter.", r.CalledTicketOut, headers=_NO_STORE),),
        body=Body(CounterBody, examples={"number": {"counter": 3}}),
        request_headers=_CSRF,
        errors=(NotFound, TemplateNotApproved, QueueEmpty, Unavailable),
    ),
    ("POST", "/console/api/branches/{id}/recall"): Operation(
        "deskRecall",
        "Recall the ticket at a counter",
        "console",
        (
            Reply(
                200,
                "The ticket announced again (queue.ticket_recalled).",
                r.CounterTicketOut,
                headers=_NO_STORE,
            ),
        ),
        body=Body(CounterBody, examples={"number": {"counter": 3}}),
        request_headers=_CSRF,
        errors=(NotFound, NoTicketCalled),
    ),
    ("POST", "/console/api/branches/{id}/no-show"): Operation(
        "deskNoShow",
        "Mark the ticket at a counter as not come",
        "console",
        (
            Reply(
                200,
                "The ticket marked no-show (queue.ticket_no_show); the counter is free.",
                r.CounterTicketOut,
                headers=_NO_STORE,
            ),
        ),
        body=Body(CounterBody, examples={"number": {"counter": 3}}),
        request_headers=_CSRF,
        errors=(NotFound, NoTicketCalled),
    ),
    ("POST", "/console/api/totp/enrolment"): Operation(
        "consoleTotpEnrolment",
        "Begin the member's TOTP enrolment",
        "console",
        (
            Reply(
                200,
                "A new secret (beginning again replaces it), its key URI and QR code; not in force until "
                "confirmed (staff.totp_enrolment_begun).",
                r.TotpEnrolmentOut,
                headers=_NO_STORE,
            ),
        ),
        description="For the signed-in member's own account, with the member's password again (a wrong "
        "one is `400 INVALID_ARGUMENT` and counts toward the sign-in throttle, `429` past it). "
        "`409 TOTP_ENROLMENT_CONFLICT` when TOTP is already on (an admin's `reset-totp` turns it off).",
        body=Body(TotpBeginBody, examples={"password": {"password": _EXAMPLE_PASSWORD}}),
        request_headers=_CSRF,
        errors=(InvalidArgument, TooManyRequests, TotpEnrolmentConflict),
    ),
    ("POST", "/console/api/totp/confirm"): Operation(
        "consoleTotpConfirm",
        "Turn the member's TOTP on",
        "console",
        (
            Reply(
                200,
                "TOTP is on: sign-in asks for a code from now on (staff.totp_enabled).",
                r.ConsoleStaffOut,
                headers=_NO_STORE,
            ),
        ),
        description="`code` is the authenticator's current code; a wrong one is `400 INVALID_ARGUMENT`. "
        "`409 TOTP_ENROLMENT_CONFLICT` when no enrolment was begun or TOTP is already on.",
        body=Body(TotpConfirmBody, examples={"code": {"code": "492039"}}),
        request_headers=_CSRF,
        errors=(InvalidArgument, TotpEnrolmentConflict),
    ),
    ("GET", "/console/api/audit"): Operation(
        "consoleAudit",
        "The tenant's audit log (admins)",
        "console",
        (Reply(200, "Entries newest first.", r.AuditPage, headers=_NO_STORE),),
        query=AuditQuery,
    ),
    ("GET", "/console/dashboard"): Operation(
        "dashboardPage",
        "Operations dashboard page",
        "pages",
        (
            _page(200, "The dashboard (admins and supervisors); without a live session it asks to sign in."),
            _page(403, "A teller's session: the dashboard is not for tellers (a page)."),
        ),
    ),
    ("GET", "/console/api/dashboard/funnel"): Operation(
        "dashboardFunnel",
        "Message funnel",
        "dashboard",
        (
            Reply(
                200, "Per day, per day and template, and failures by reason.", d.FunnelOut, headers=_NO_STORE
            ),
        ),
        description=_DASHBOARD,
        query=d.RangeQuery,
        errors=_RANGE_ERRORS,
    ),
    ("GET", "/console/api/dashboard/operators"): Operation(
        "dashboardOperators",
        "Operators: delivery, report latency, errors",
        "dashboard",
        (Reply(200, "Per operator, and the operators' errors.", d.OperatorsOut, headers=_NO_STORE),),
        description=_DASHBOARD + " Latency percentiles are by nearest rank, to two significant digits.",
        query=d.RangeQuery,
        errors=_RANGE_ERRORS,
    ),
    ("GET", "/console/api/dashboard/identity"): Operation(
        "dashboardIdentity",
        "Identity calls and billed calls",
        "dashboard",
        (Reply(200, "Per day, operator and capability, with the totals.", d.IdentityOut, headers=_NO_STORE),),
        description=_DASHBOARD,
        query=d.RangeQuery,
        errors=_RANGE_ERRORS,
    ),
    ("GET", "/console/api/dashboard/identity.csv"): Operation(
        "dashboardIdentityCsv",
        "Identity calls as CSV",
        "dashboard",
        (
            Reply(
                200,
                "UTF-8 with a byte-order mark (for Excel), a Chinese and English header row, one row per "
                "day, operator and capability.",
                schema=_STRING,
                media_types=("text/csv",),
                headers={
                    "Content-Disposition": Header('`attachment; filename="identity-calls-<from>-<to>.csv"`.'),
                    **_NO_STORE,
                },
            ),
        ),
        description=_DASHBOARD,
        query=d.RangeQuery,
        errors=_RANGE_ERRORS,
    ),
    ("GET", "/console/api/dashboard/verifications"): Operation(
        "dashboardVerifications",
        "Verification requests by status",
        "dashboard",
        (Reply(200, "Per day of creation.", d.VerificationsOut, headers=_NO_STORE),),
        description=_DASHBOARD,
        query=d.RangeQuery,
        errors=_RANGE_ERRORS,
    ),
    ("GET", "/console/api/dashboard/webhooks"): Operation(
        "dashboardWebhooks",
        "Webhook deliveries",
        "dashboard",
        (
            Reply(
                200,
                "Per target: the range's deliveries by status, all dead letters, the latest error.",
                d.WebhooksOut,
                headers=_NO_STORE,
            ),
        ),
        description=_DASHBOARD,
        query=d.RangeQuery,
        errors=_RANGE_ERRORS,
    ),
    ("POST", "/console/api/dashboard/webhooks/retry"): Operation(
        "dashboardRetryDeadLetters",
        "Send a target's dead letters again (admins)",
        "dashboard",
        (Reply(200, "How many failed deliveries were requeued.", d.RetryOut, headers=_NO_STORE),),
        description="Each is due at once with a new 24 h window; the audit log records "
        "`webhooks.dead_letters_retried`. `404` without such an endpoint or sink, "
        "`409 WEBHOOK_ENDPOINT_DISABLED` for an endpoint a 410 disabled (register it again first).",
        body=Body(d.RetryBody, examples={"endpoint": {"target": ""}}),
        request_headers=_CSRF,
        errors=(NotFound, WebhookEndpointDisabled),
    ),
    ("GET", "/console/api/dashboard/queues"): Operation(
        "dashboardQueues",
        "Branch queues",
        "dashboard",
        (
            Reply(
                200,
                "Per service day and branch: every branch for an admin, the assigned ones for a supervisor.",
                d.QueuesOut,
                headers=_NO_STORE,
            ),
        ),
        description=_DASHBOARD,
        query=d.RangeQuery,
        errors=_RANGE_ERRORS,
    ),
    ("GET", "/console/api/dashboard/search"): Operation(
        "dashboardSearch",
        "Find a message",
        "dashboard",
        (
            Reply(
                200,
                "The message with that id, or the newest 50 to numbers ending so.",
                d.SearchOut,
                headers=_NO_STORE,
            ),
        ),
        description="`q`: a message id, or the last four digits of the number; numbers are shown masked "
        "and another tenant's messages are never found.",
        query=d.SearchQuery,
        errors=(InvalidArgument,),
    ),
    ("GET", "/flows/static/{name}"): Operation(
        "staticFile",
        "Scripts and styles of the pages",
        "pages",
        (
            Reply(
                200,
                "The file.",
                schema=_STRING,
                media_types=tuple(sorted(set(STATIC_FILES.values()))),
                headers={"Cache-Control": Header("`no-cache`.")},
            ),
        ),
        path_schema={"name": {"type": "string", "examples": sorted(STATIC_FILES)}},
        errors=(NotFound,),
        database=False,
    ),
    ("PUT", "/push/v1/channels/5g/{operator}"): Operation(
        "putChatbot",
        "Set the tenant's 5G-message chatbot at an operator",
        "push",
        (
            Reply(201, "Configured (there was none).", rich.ChatbotOut),
            Reply(200, "Replaced.", rich.ChatbotOut),
        ),
        description=(
            "The chatbot the operator's MaaP platform registered for the tenant (`botId`, signing "
            "`secret`, stored encrypted and never returned). A `botId` is unique per operator across "
            "tenants (`409 CHANNEL_ID_TAKEN`); the platform's events are routed to the tenant by it."
        ),
        body=Body(rich.ChatbotPut, examples={"cmcc": {"botId": "bank-claims", "secret": "0" * 32}}),
        path_schema=_OPERATOR_PATH,
        errors=(NotFound, ChannelIdTaken),
    ),
    ("GET", "/push/v1/channels/5g/{operator}"): Operation(
        "getChatbot",
        "Read the tenant's chatbot at an operator",
        "push",
        (Reply(200, "The chatbot, without its secret.", rich.ChatbotOut),),
        path_schema=_OPERATOR_PATH,
        errors=(NotFound,),
    ),
    ("DELETE", "/push/v1/channels/5g/{operator}"): Operation(
        "deleteChatbot",
        "Forget the tenant's chatbot at an operator",
        "push",
        (Reply(204, "Forgotten; its stored events stay."),),
        path_schema=_OPERATOR_PATH,
        errors=(NotFound,),
    ),
    ("PUT", "/push/v1/channels/card/{vendor}"): Operation(
        "putCardAccount",
        "Set the tenant's card-SMS account at a handset vendor",
        "push",
        (
            Reply(201, "Configured (there was none).", rich.CardAccountOut),
            Reply(200, "Replaced.", rich.CardAccountOut),
        ),
        description=(
            "The account at the vendor's card platform (`appId`, `appKey` stored encrypted and never "
            "returned); an `appId` is unique per vendor across tenants (`409 CHANNEL_ID_TAKEN`)."
        ),
        body=Body(rich.CardAccountPut, examples={"huawei": {"appId": "bank-cards", "appKey": "0" * 32}}),
        path_schema=_VENDOR_PATH,
        errors=(NotFound, ChannelIdTaken),
    ),
    ("GET", "/push/v1/channels/card/{vendor}"): Operation(
        "getCardAccount",
        "Read the tenant's card-SMS account at a vendor",
        "push",
        (Reply(200, "The account, without its key.", rich.CardAccountOut),),
        path_schema=_VENDOR_PATH,
        errors=(NotFound,),
    ),
    ("DELETE", "/push/v1/channels/card/{vendor}"): Operation(
        "deleteCardAccount",
        "Forget the tenant's card-SMS account at a vendor",
        "push",
        (Reply(204, "Forgotten; its templates and stored events stay."),),
        path_schema=_VENDOR_PATH,
        errors=(NotFound,),
    ),
    ("POST", "/push/v1/card-templates"): Operation(
        "createCardTemplate",
        "Register a card template at a vendor",
        "templates",
        (
            Reply(
                201,
                "Registered; the vendor's review is usually pending.",
                rich.CardTemplateCreated,
                headers=_LOCATION,
            ),
        ),
        description=(
            "Registered through the tenant's account at `vendor` (`409 CHANNEL_NOT_CONFIGURED` without "
            "an enabled one). Every `${name}` placeholder must be declared in `params` and every "
            "parameter used; a button's action is a placeholder or a link of its `actionType`."
        ),
        body=Body(
            rich.CardTemplateCreate,
            examples={
                "claim": {
                    "vendor": "huawei",
                    "name": "claim",
                    "title": "${company}理赔",
                    "description": "案件 ${case} 已受理",
                    "buttons": [{"text": "查看", "actionType": "OPEN_URL", "action": "${link}"}],
                    "params": ["company", "case", "link"],
                }
            },
        ),
        errors=(ChannelNotConfigured,),
        operator=True,
    ),
    ("GET", "/push/v1/card-templates/{id}"): Operation(
        "getCardTemplate",
        "Read a card template and its review",
        "templates",
        (Reply(200, "The template; while pending, the vendor is asked again.", rich.CardTemplateOut),),
        description="A vendor that cannot answer leaves the stored review state (still `200`).",
        errors=(NotFound,),
    ),
    ("POST", "/operator-callbacks/{operator}/maap"): Operation(
        "maapCallback",
        "5G-message status notifications and suggestion responses",
        "push",
        (
            Reply(
                200, "Stored, a replay of a stored event, or an event kind not kept.", rich.CallbackReceived
            ),
        ),
        description=(
            "Authenticated by the chatbot's signature (`X-Maap-*` headers), not by a bearer: an unknown "
            "`botId` or a signature that does not verify is `401`. Bodies of at most 16 KiB."
        ),
        body=Body(schema=_CALLBACK_BODY),
        path_schema=_OPERATOR_PATH,
        errors=(NotFound, Unauthenticated, InvalidArgument),
    ),
    ("POST", "/operator-callbacks/cards/{vendor}"): Operation(
        "cardCallback",
        "Card-SMS receipts: rendered, failed, clicked",
        "push",
        (Reply(200, "Stored, or a replay of a stored receipt.", rich.CallbackReceived),),
        description=(
            "Authenticated by the account's signature (`X-Card-*` headers), not by a bearer: an unknown "
            "`appId` or a signature that does not verify is `401`. Bodies of at most 16 KiB."
        ),
        body=Body(schema=_CALLBACK_BODY),
        path_schema=_VENDOR_PATH,
        errors=(NotFound, Unauthenticated, InvalidArgument),
    ),
}

OPERATIONS: Mapping[tuple[str, str], Operation] = MappingProxyType(_TABLE)
"""Every documented route; the router and this table must name the same routes (tests check)."""
