"""Wire models of the control API: strict request bodies (unknown fields rejected) and JSON views."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final, Literal, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from sandbox.config import Operator
from sandbox.errors import InvalidArgument
from sandbox.kyc import check_record
from sandbox.numbers import E164_PATTERN
from sandbox.rich import MaapDelivery, Vendor
from sandbox.state import AuthType, DeliveryReport, Faults, Message, Network, Purpose, Subscriber

__all__ = [
    "CardAccountRegistration",
    "ChatbotRegistration",
    "DeviceAuthorize",
    "DeviceSwap",
    "FaultsUpdate",
    "OneTapTokenRequest",
    "ReplyRequest",
    "SimSwap",
    "SpListenerUpdate",
    "SubscriberCreate",
    "Tap",
    "TemplateDecision",
    "VendorFaultsUpdate",
    "faults_view",
    "message_view",
    "parse_body",
    "rfc3339",
    "subscriber_view",
]

_MAX_REPORTED_ERRORS: Final = 3


def _to_utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("date out of range in UTC") from None


_Instant = Annotated[AwareDatetime, AfterValidator(_to_utc)]
_Imei = Annotated[str, Field(min_length=1, max_length=64)]
_Body = TypeVar("_Body", bound="_StrictBody")


def _checked_kyc(record: dict[str, str]) -> dict[str, str]:
    check_record(record)
    return record


_Kyc = Annotated[dict[str, str], AfterValidator(_checked_kyc)]


class _StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, alias_generator=to_camel)


class SubscriberCreate(_StrictBody):
    """``POST /sandbox/subscribers``."""

    phone_number: Annotated[str, Field(pattern=E164_PATTERN)]
    operator: Operator
    imei: _Imei | None = None
    activated_at: _Instant | None = None
    sim_changed_at: _Instant | None = None
    device_changed_at: _Instant | None = None
    eligible: bool = True
    kyc: _Kyc = Field(default_factory=dict)
    rcs: bool = False
    vendor: Vendor = "other"


class SimSwap(_StrictBody):
    """``POST /sandbox/subscribers/{phoneNumber}/sim-swap``; ``at`` defaults to now."""

    at: _Instant | None = None


class DeviceSwap(_StrictBody):
    """``POST /sandbox/subscribers/{phoneNumber}/device-swap``; without ``imei`` the new device gets one."""

    at: _Instant | None = None
    imei: _Imei | None = None


class OneTapTokenRequest(_StrictBody):
    """``POST /sandbox/devices/{phoneNumber}/one-tap-token``; ``appId`` defaults to the operator's app,
    ``method`` to the phone's network's (:attr:`~sandbox.state.Subscriber.auth_type`)."""

    purpose: Purpose
    method: AuthType | None = None
    app_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None


class DeviceAuthorize(_StrictBody):
    """``POST /sandbox/devices/{phoneNumber}/authorize``: the URL the browser opens, and the bearer
    (default the phone's network's, :attr:`~sandbox.state.Subscriber.bearer`)."""

    url: Annotated[str, Field(min_length=1, max_length=8192)]
    method: Literal["network", "sms_otp"] | None = None


class DeviceUpdate(_StrictBody):
    """``PUT /sandbox/devices/{phoneNumber}``: the phone's network and/or its maker (at least one)."""

    network: Network | None = None
    vendor: Vendor | None = None


class ReplyRequest(_StrictBody):
    """``POST /sandbox/devices/{phoneNumber}/reply``: the text the phone sends back."""

    text: Annotated[str, Field(min_length=1, max_length=700)]


class SpListenerUpdate(_StrictBody):
    """``PUT /sandbox/smsc/cucc/sp-listener``: the SP's listener the SGIP SMG dials, or null."""

    address: Annotated[str, Field(min_length=1, max_length=300)] | None


class FaultsUpdate(_StrictBody):
    """``PUT /sandbox/operators/{operator}/faults``; fields left out keep their current value."""

    latency_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    error_rate: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0
    down: bool = False
    delivery_report: DeliveryReport = "DELIVRD"
    refuse_login: bool = False
    silent: bool = False
    silent_heartbeats: bool = False
    drop_window: Annotated[int, Field(ge=0, le=1000)] = 0
    answer_delay_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    flow_control_rate: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = 0.0
    submits_per_second: Annotated[int, Field(ge=0, le=1_000_000)] = 0
    report_delay_ms: Annotated[int, Field(ge=0, le=86_400_000)] = 0
    duplicate_reports: bool = False
    reorder_reports: bool = False
    maap_down: bool = False
    maap_delivery: MaapDelivery = "delivered"

    def apply_to(self, faults: Faults) -> None:
        """Copy the fields the caller gave onto ``faults``."""
        for name in self.model_fields_set:
            setattr(faults, name, getattr(self, name))


_Secret = Annotated[str, Field(min_length=32, max_length=32, pattern=r"^[!-~]{32}$")]


class ChatbotRegistration(_StrictBody):
    """``PUT /sandbox/maap/{operator}/chatbots/{botId}``."""

    secret: _Secret


class CardAccountRegistration(_StrictBody):
    """``PUT /sandbox/cards/accounts/{appId}``."""

    app_key: _Secret


class TemplateDecision(_StrictBody):
    """``PUT /sandbox/cards/{vendor}/templates/{templateId}``: the review by hand."""

    state: Literal["pending", "approved", "rejected"]
    reason: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class VendorFaultsUpdate(_StrictBody):
    """``PUT /sandbox/cards/{vendor}/faults``; fields left out keep their value."""

    down: bool = False
    latency_ms: Annotated[int, Field(ge=0, le=600_000)] = 0
    delivery: Literal["rendered", "failed", "none"] = "rendered"
    review_outcome: Literal["pending", "approved", "rejected"] = "approved"
    review_delay_ms: Annotated[int, Field(ge=0, le=86_400_000)] = 0


class Tap(_StrictBody):
    """``POST /sandbox/devices/{phoneNumber}/rich-messages/{id}/tap``."""

    button: Annotated[int, Field(ge=0, le=9)]


def parse_body(model: type[_Body], raw: bytes) -> _Body:
    """Validate a JSON body; any failure is :class:`InvalidArgument` naming the offending fields."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}"
            if error["loc"]
            else error["msg"]
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise InvalidArgument("; ".join(problems[:_MAX_REPORTED_ERRORS]) + ".") from None


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 with a ``Z`` suffix."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _optional_rfc3339(moment: datetime | None) -> str | None:
    return None if moment is None else rfc3339(moment)


def subscriber_view(subscriber: Subscriber) -> dict[str, object]:
    """The JSON form of a subscriber, with its SIM and device history."""
    return {
        "phoneNumber": subscriber.phone_number,
        "operator": subscriber.operator,
        "imei": subscriber.imei,
        "activatedAt": rfc3339(subscriber.activated_at),
        "simChangedAt": _optional_rfc3339(subscriber.sim_changed_at),
        "deviceChangedAt": _optional_rfc3339(subscriber.device_changed_at),
        "eligible": subscriber.eligible,
        "kyc": dict(subscriber.kyc),
        "network": subscriber.network,
        "rcs": subscriber.rcs,
        "vendor": subscriber.vendor,
        "simHistory": [{"at": rfc3339(change.at)} for change in subscriber.sim_history],
        "deviceHistory": [
            {"at": rfc3339(change.at), "imei": change.imei} for change in subscriber.device_history
        ],
    }


def message_view(message: Message) -> dict[str, object]:
    """The JSON form of an SMS in a phone's inbox."""
    return {"from": message.sender, "text": message.text, "receivedAt": rfc3339(message.received_at)}


def faults_view(faults: Faults) -> dict[str, object]:
    """The JSON form of one operator's faults."""
    return {
        "latencyMs": faults.latency_ms,
        "errorRate": faults.error_rate,
        "down": faults.down,
        "deliveryReport": faults.delivery_report,
        "refuseLogin": faults.refuse_login,
        "silent": faults.silent,
        "silentHeartbeats": faults.silent_heartbeats,
        "dropWindow": faults.drop_window,
        "answerDelayMs": faults.answer_delay_ms,
        "flowControlRate": faults.flow_control_rate,
        "submitsPerSecond": faults.submits_per_second,
        "reportDelayMs": faults.report_delay_ms,
        "duplicateReports": faults.duplicate_reports,
        "reorderReports": faults.reorder_reports,
        "maapDown": faults.maap_down,
        "maapDelivery": faults.maap_delivery,
    }
