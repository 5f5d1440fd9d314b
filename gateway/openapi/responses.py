"""Response bodies as the document describes them (the views build them as dicts).

Every model forbids unknown properties, so the schemathesis run notices an answer that grew a
field the document does not name. A field typed ``X | Absent`` may be left out of the answer; a
field typed ``X | None`` is always present and may be ``null``.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model
from pydantic.json_schema import SkipJsonSchema

from carrier_adapters import Assurance
from gateway.camara.kyc import MatchResult
from gateway.camara.schemas import KYC_ATTRIBUTES, KYC_SCORED
from gateway.camara.subscriptions.lifecycle import Status as SubscriptionStatus
from gateway.flows.rules import ClaimStatus
from gateway.login_check.policy import Decision, Reason
from gateway.push.states import MessageStatus
from gateway.staff import Role
from gateway.templates.spec import Category, Flow, ParamType
from gateway.templates.spec import Status as TemplateStatus
from gateway.webhooks.events import EVENT_TYPES

__all__ = ["RESPONSE_MODELS"]

Absent = SkipJsonSchema[None]
E164 = Annotated[str, Field(pattern=r"^\+[1-9][0-9]{4,14}$")]
Operator = Literal["cmcc", "cucc", "ctcc"]


def _enum(values: type[Enum] | tuple[str, ...]) -> Any:
    """A string restricted to an enum's values, inlined (no shared ``$defs`` entry per enum)."""
    names = [str(m.value) for m in values] if isinstance(values, type) else list(values)
    return Annotated[str, WithJsonSchema({"type": "string", "enum": names})]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Health(_Out):
    """``GET /healthz``."""

    status: Literal["ok"]


class Readiness(_Out):
    """``GET /readyz``."""

    status: Literal["ready"]


class OpenIdConfiguration(_Out):
    """Authorization server metadata (OIDC Discovery 1.0, RFC 8414): one document at both addresses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    backchannel_authentication_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    response_types_supported: list[str]
    response_modes_supported: list[str]
    code_challenge_methods_supported: list[str]
    backchannel_token_delivery_modes_supported: list[str]
    backchannel_user_code_parameter_supported: bool
    backchannel_authentication_request_signing_alg_values_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    scopes_supported: list[str]
    subject_types_supported: list[str]
    id_token_signing_alg_values_supported: list[str]
    claims_supported: list[str]
    prompt_values_supported: list[str]
    authorization_response_iss_parameter_supported: bool
    request_parameter_supported: bool
    request_uri_parameter_supported: bool
    request_object_signing_alg_values_supported: list[str]
    require_signed_request_object: bool | Absent = None
    claims_parameter_supported: bool


class Jwk(BaseModel):
    """A public signing key (RFC 7517); members beyond these depend on ``kty``."""

    model_config = ConfigDict(extra="allow")

    kty: str
    kid: str
    use: Literal["sig"]
    alg: Literal["ES256", "RS256"]


class JwkSet(_Out):
    """``GET /oauth2/jwks``."""

    keys: list[Jwk]


class TokenResponse(_Out):
    """RFC 6749 §5.1 (``id_token`` for the OIDC grants)."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    scope: str
    id_token: str | Absent = None


class BackchannelResponse(_Out):
    """CIBA authentication request acknowledgement."""

    auth_req_id: str
    expires_in: int
    interval: int


class OAuthErrorBody(_Out):
    """RFC 6749 §5.2 error."""

    error: str
    error_description: str


class TenantCredentials(_Out):
    """``POST /admin/tenants``: the client secret appears here only."""

    tenant_id: str
    client_id: str
    client_secret: str


class OneTapLogin(_Out):
    """``POST /one-tap/v1/login``."""

    phoneNumber: E164
    operator: Operator
    assurance: _enum(Assurance)  # type: ignore[valid-type]
    billed: bool
    providerRef: str


class OneTapVerify(_Out):
    """``POST /one-tap/v1/verify``."""

    result: Literal["PASS", "REJECT", "UNKNOWN"]
    operator: Operator
    billed: bool
    providerRef: str


class NumberVerificationMatch(_Out):
    """Number Verification ``verify``."""

    devicePhoneNumberVerified: bool


class DevicePhoneNumber(_Out):
    """Number Verification ``device-phone-number``."""

    devicePhoneNumber: E164


class SwapCheck(_Out):
    """SIM / Device Swap ``check``."""

    swapped: bool


class SimSwapDate(_Out):
    """SIM Swap ``retrieve-date``: ``null`` with ``monitoredPeriod`` (days) when history is capped."""

    latestSimChange: datetime | None
    monitoredPeriod: int | Absent = None


class DeviceSwapDate(_Out):
    """Device Swap ``retrieve-date``."""

    latestDeviceChange: datetime | None
    monitoredPeriod: int | Absent = None


def _kyc_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name in KYC_ATTRIBUTES:
        fields[f"{name}Match"] = (MatchResult | Absent, None)
        if name in KYC_SCORED:
            fields[f"{name}MatchScore"] = (Annotated[int, Field(ge=0, le=99)] | Absent, None)
    return fields


KycMatchResult: type[BaseModel] = create_model(
    "KycMatchResult",
    __config__=ConfigDict(extra="forbid"),
    __doc__="KYC Match: ``<attribute>Match`` for every attribute sent, a score on some ``false``.",
    **_kyc_fields(),
)


class SubscriptionDetailOut(_Out):
    """``config.subscriptionDetail``."""

    phoneNumber: E164 | Absent = None


class SubscriptionConfigOut(_Out):
    """``config``."""

    subscriptionDetail: SubscriptionDetailOut
    subscriptionExpireTime: datetime | Absent = None
    subscriptionMaxEvents: int | Absent = None


class SimSwapSubscription(_Out):
    """A SIM swap subscription (sim-swap-subscriptions 0.3.0)."""

    id: str
    protocol: Literal["HTTP"]
    sink: str
    types: list[Literal["org.camaraproject.sim-swap-subscriptions.v0.swapped"]]
    config: SubscriptionConfigOut
    startsAt: datetime
    expiresAt: datetime | Absent = None
    status: _enum(SubscriptionStatus)  # type: ignore[valid-type]


class SimSwapSubscriptionCreated(SimSwapSubscription):
    """The created subscription; ``signingSecret`` appears here only."""

    signingSecret: str


class LoginChecks(_Out):
    """What the evaluation found (``null``: could not be established)."""

    numberVerified: bool | None
    simSwapped: bool | None
    deviceSwapped: bool | None
    deviceKnown: bool


class LoginAssessment(_Out):
    """``POST /login-check/v1/evaluate``."""

    decision: _enum(Decision)  # type: ignore[valid-type]
    reasons: list[_enum(Reason)]  # type: ignore[valid-type]
    checks: LoginChecks


class DeviceBindingOut(_Out):
    """A device bound to a number."""

    id: str
    phoneNumber: E164
    deviceId: str
    label: str | None
    createdAt: datetime


class DeviceBindings(_Out):
    """``GET /login-check/v1/devices``."""

    devices: list[DeviceBindingOut]


class LoginCheckPolicy(_Out):
    """The tenant's login-check thresholds."""

    simSwapMaxAgeHours: int
    deviceSwapMaxAgeHours: int
    attemptsPerNumber: int
    attemptsPerDevice: int
    attemptsPerIp: int
    windowSeconds: int


class TemplateState(_Out):
    """A template's id and review state (``reason`` once rejected)."""

    id: str
    status: _enum(TemplateStatus)  # type: ignore[valid-type]
    reason: str | Absent = None


class TemplateParamOut(_Out):
    """A declared parameter."""

    type: _enum(ParamType)  # type: ignore[valid-type]
    required: bool


class QuickAppOut(_Out):
    """The quick app the link opens."""

    package: str
    page: str


class SegmentsEstimate(_Out):
    """How many SMS parts a typical send takes."""

    segments: int
    encoding: str
    units: int


class TemplateOut(_Out):
    """``GET /push/v1/templates/{id}``; ``flow`` and ``quickApp`` are absent for verification templates."""

    id: str
    name: str
    category: _enum(Category)  # type: ignore[valid-type]
    signature: str
    text: str
    flow: _enum(Flow) | Absent = None  # type: ignore[valid-type]
    quickApp: QuickAppOut | Absent = None
    params: dict[str, TemplateParamOut]
    status: _enum(TemplateStatus)  # type: ignore[valid-type]
    segmentsEstimate: SegmentsEstimate
    createdAt: datetime
    decidedAt: datetime | Absent = None
    reason: str | Absent = None
    builtin: str | Absent = None


class WebhookRegistered(_Out):
    """``PUT /push/v1/webhook``: the signing secret appears here only."""

    url: str
    events: list[_enum(EVENT_TYPES)]  # type: ignore[valid-type]
    secret: str


class WebhookEndpoint(_Out):
    """``GET /push/v1/webhook``."""

    url: str
    events: list[_enum(EVENT_TYPES)]  # type: ignore[valid-type]
    status: Literal["enabled", "disabled"]
    disabledReason: str | None
    disabledAt: datetime | None


class DeliveryAttemptOut(_Out):
    """One attempt: ``statusCode`` when the endpoint answered, else ``error``."""

    at: datetime
    statusCode: int | None
    error: str | None
    durationMs: int


class WebhookDelivery(_Out):
    """``GET /push/v1/webhook/deliveries/{id}``."""

    id: str
    type: str
    status: Literal["pending", "delivered", "failed"]
    createdAt: datetime
    nextAttemptAt: datetime | None
    lastError: str | None
    attempts: list[DeliveryAttemptOut]


class MessageAccepted(_Out):
    """``POST /push/v1/messages``; no ``link`` for a verification SMS."""

    id: str
    status: Literal["queued"]
    link: str | Absent = None
    segments: int
    scheduledAt: datetime | Absent = None


class MessageEventOut(_Out):
    """One history entry."""

    type: str
    at: datetime
    detail: str | Absent = None


class MessageOut(_Out):
    """``GET /push/v1/messages/{id}``: the recipient masked (``+86138****8000``); no ``link`` for a
    verification SMS."""

    id: str
    status: _enum(MessageStatus)  # type: ignore[valid-type]
    to: str
    segments: int
    link: str | Absent = None
    createdAt: datetime
    scheduledAt: datetime | Absent = None
    expiresAt: datetime
    operator: Operator | Absent = None
    failureReason: str | Absent = None
    events: list[MessageEventOut]


class SmsPolicyOut(_Out):
    """A tenant's SMS limits: sends per number and per 7-digit prefix, segments per day."""

    numberPer10Min: int
    numberPerDay: int
    prefixPer10Min: int
    prefixPerDay: int
    dailyBudget: int


class SmsUsageOut(_Out):
    """``GET /push/v1/usage``: the budget day's SMS against the tenant's policy."""

    day: str
    timeZone: str
    messages: int
    segments: int
    remainingSegments: int
    policy: SmsPolicyOut


class SmsPolicyStored(_Out):
    """``PUT /admin/tenants/{id}/sms-policy``: the policy now in force."""

    tenantId: str
    policy: SmsPolicyOut


class CallbackReceipt(_Out):
    """``POST /operator-callbacks/{operator}``: how many reports or replies the body held."""

    received: int


class Redemption(_Out):
    """``POST /push/v1/links/{code}/redeem``: the flow session (shown once) and the flow to run."""

    session: str
    expiresAt: datetime
    flow: _enum(Flow)  # type: ignore[valid-type]
    params: dict[str, Any]
    state: str


class LocationOutcome(_Out):
    """Claim location share or decline."""

    status: _enum(ClaimStatus)  # type: ignore[valid-type]
    at: datetime


class LocationOut(_Out):
    """WGS-84 degrees and the accuracy radius the phone's browser reported."""

    latitude: float
    longitude: float
    accuracyMeters: float


class SharedLocationOut(_Out):
    """``GET /push/v1/messages/{id}/location``: what ``claim.location_shared`` carried."""

    messageId: str
    location: LocationOut
    sharedAt: datetime


class QueueTicket(_Out):
    """The holder's ticket (``position`` and ``estimatedWaitMinutes`` while waiting)."""

    ticket: str
    position: int | None
    estimatedWaitMinutes: int | None
    status: Literal["waiting", "called", "cancelled", "no_show"]
    counter: str | None
    branchName: str
    service: str | None


class BranchOut(_Out):
    """A branch."""

    id: str
    name: str
    templateId: str
    callTemplateId: str
    callTemplateStatus: _enum(TemplateStatus)  # type: ignore[valid-type]
    createdAt: datetime


class IssuedTicketOut(_Out):
    """``POST /push/v1/branches/{id}/tickets``."""

    ticket: str
    position: int
    messageId: str


class CalledTicketOut(_Out):
    """``POST /push/v1/branches/{id}/call-next`` (``messageId`` null when the call SMS was refused)."""

    ticket: str
    counter: str
    messageId: str | None
    waiting: int


class WaitingTicketOut(_Out):
    """A waiting ticket, number masked."""

    ticket: str
    position: int
    service: str | None
    phoneNumber: str
    issuedAt: datetime
    messageId: str | None


class CalledEntryOut(_Out):
    """A recent call."""

    ticket: str
    counter: str
    calledAt: datetime


class BranchQueue(_Out):
    """``GET /push/v1/branches/{id}/queue``."""

    branch: BranchOut
    waiting: list[WaitingTicketOut]
    called: list[CalledEntryOut]
    minutesPerCustomer: float


class StaffMemberOut(_Out):
    """A staff account (never its password or TOTP secret)."""

    id: str
    tenantId: str
    username: str
    role: _enum(Role)  # type: ignore[valid-type]
    branches: list[str]
    totpEnabled: bool
    disabled: bool
    createdAt: datetime
    ssoSubject: str | None
    """The member's ``sub`` at the tenant's identity provider (single sign-on), null when not linked."""


class SsoConfigOut(_Out):
    """A tenant's identity provider for console single sign-on (never the client secret)."""

    tenantId: str
    issuer: str
    clientId: str
    redirectUri: str
    """The gateway's callback: register it at the provider."""
    createdAt: datetime
    updatedAt: datetime


class StaffList(_Out):
    """``GET /admin/tenants/{tenant_id}/staff``: by username."""

    staff: list[StaffMemberOut]


class AuditEntryOut(_Out):
    """One staff action; ``staffId``/``username`` are null for the admin API and the CLI."""

    id: int
    staffId: str | None
    username: str | None
    action: str
    target: str | None
    detail: dict[str, Any]
    at: datetime


class AuditPage(_Out):
    """``GET /admin/tenants/{tenant_id}/audit``: newest first; ``nextBefore`` reads the next page."""

    entries: list[AuditEntryOut]
    nextBefore: int | None


class ConsoleStaff(_Out):
    """The signed-in member as the console shows them."""

    id: str
    username: str
    role: Literal["admin", "supervisor", "teller"]
    branches: list[str]
    totpEnabled: bool


class ConsoleSessionOut(_Out):
    """``/console/api/session``: the member, the session's CSRF token (for ``X-CSRF-Token``) and its ends."""

    staff: ConsoleStaff
    csrfToken: str
    idleExpiresAt: datetime
    expiresAt: datetime
    idleExpiresInSeconds: int
    expiresInSeconds: int
    idleTimeoutSeconds: int
    warningSeconds: int


class ConsoleStaffOut(_Out):
    """``POST /console/api/totp/confirm``: the member, now with ``totpEnabled`` true."""

    staff: ConsoleStaff


class TotpEnrolmentOut(_Out):
    """``POST /console/api/totp/enrolment``: what an authenticator app needs (the console page keeps
    it in memory only, until the code is confirmed)."""

    secret: str = Field(description="The base32 secret, to type into the app by hand.")
    otpauthUri: str = Field(description="The key URI `otpauth://totp/<tenant>:<username>?secret=…&issuer=…`.")
    qrCode: str = Field(
        pattern=r"^data:image/svg\+xml;base64,",
        description="The key URI's QR code: an SVG image as a `data:image/svg+xml;base64,…` URL.",
    )


class ConsoleBranch(_Out):
    """A branch the member serves."""

    id: str
    name: str


class ConsoleBranches(_Out):
    """``GET /console/api/branches``."""

    branches: list[ConsoleBranch]


class ConsoleCall(_Out):
    """One call of the day."""

    ticket: str
    counter: str
    status: Literal["called", "no_show"]
    service: str | None
    calledAt: datetime


class ConsoleCalls(_Out):
    """``GET /console/api/branches/{id}/calls``: the day's calls, newest first."""

    calls: list[ConsoleCall]


class CounterTicketOut(_Out):
    """The ticket a recall or a no-show acted on."""

    ticket: str
    counter: str
    messageId: str | None
    calledAt: datetime


RESPONSE_MODELS: tuple[type[BaseModel], ...] = (
    Health,
    Readiness,
    OpenIdConfiguration,
    JwkSet,
    TokenResponse,
    BackchannelResponse,
    OAuthErrorBody,
    TenantCredentials,
    OneTapLogin,
    OneTapVerify,
    NumberVerificationMatch,
    DevicePhoneNumber,
    SwapCheck,
    SimSwapDate,
    DeviceSwapDate,
    KycMatchResult,
    SimSwapSubscription,
    SimSwapSubscriptionCreated,
    LoginAssessment,
    DeviceBindings,
    DeviceBindingOut,
    LoginCheckPolicy,
    TemplateState,
    TemplateOut,
    WebhookRegistered,
    WebhookEndpoint,
    WebhookDelivery,
    MessageAccepted,
    MessageOut,
    CallbackReceipt,
    Redemption,
    LocationOutcome,
    SharedLocationOut,
    QueueTicket,
    BranchOut,
    IssuedTicketOut,
    CalledTicketOut,
    BranchQueue,
    ConsoleSessionOut,
    ConsoleStaffOut,
    TotpEnrolmentOut,
    ConsoleBranches,
    ConsoleCalls,
    CounterTicketOut,
)
"""Every response model the operations use (the document's ``components/schemas``)."""


class VerifyAccepted(_Out):
    """``POST /verify/v1/requests``: the request's id, and the check URL of a workflow with a network step."""

    requestId: str
    checkUrl: str | None = None


class VerifyStepOut(_Out):
    """One step of a verification request and what became of it."""

    channel: Literal["network", "sms"]
    templateId: str | None = None
    status: Literal["waiting", "active", "completed", "failed", "skipped", "expired", "cancelled"]
    startedAt: str | None = None
    endedAt: str | None = None
    reason: str | None = Field(
        default=None,
        description=(
            "Why a step did not complete: `off_network`, `operator_unavailable`, `operator_refused`, "
            "`number_mismatch`, `not_network`, `sms_refused`, `prefix_blocked`, `timeout`, "
            "`too_many_attempts`."
        ),
    )


class VerifyRequestOut(_Out):
    """A verification request: status, the number masked, and each step's outcome."""

    requestId: str
    status: Literal["pending", "completed", "failed", "expired", "cancelled"]
    phoneNumber: str = Field(description="Masked: `+86138****8000`.")
    clientReference: str | None = None
    checkUrl: str | None = None
    currentStep: int
    attemptsLeft: int
    codesSent: int
    createdAt: str
    steps: list[VerifyStepOut]
