"""Wire models of the login-check API (contract §5) and their JSON answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress

from gateway.login_check.devices import Device
from gateway.login_check.policy import Assessment, Thresholds
from gateway.one_tap.schemas import Operator
from gateway.wire import E164, described_pattern

__all__ = [
    "DeviceCreate",
    "DeviceQuery",
    "EvaluateRequest",
    "PolicyUpdate",
    "assessment_json",
    "device_json",
    "thresholds_json",
]

DEVICE_ID = described_pattern(r"^[\x21-\x7e]{1,128}$", "1 to 128 printable ASCII characters without spaces")
"""Printable ASCII without spaces: vendor ids, UUIDs, app-generated keys."""
LABEL = described_pattern(r"^[^\x00-\x1f\x7f]{1,64}$", "1 to 64 characters without control characters")
"""Any text without control characters."""
MAX_AGE_HOURS = 2400
MAX_ATTEMPTS = 100_000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EvaluateRequest(_Strict):
    """``POST /login-check/v1/evaluate``."""

    phoneNumber: str = Field(pattern=E164)
    deviceId: str = Field(pattern=DEVICE_ID)
    oneTapToken: str | None = Field(default=None, min_length=1, max_length=2048)
    operator: Operator | None = None
    maxSimSwapAge: int | None = Field(default=None, strict=True, ge=1, le=MAX_AGE_HOURS)
    ip: IPvAnyAddress | None = None


class DeviceCreate(_Strict):
    """``POST /login-check/v1/devices``."""

    phoneNumber: str = Field(pattern=E164)
    deviceId: str = Field(pattern=DEVICE_ID)
    label: str | None = Field(default=None, pattern=LABEL)


class DeviceQuery(_Strict):
    """The query of ``GET /login-check/v1/devices``."""

    phoneNumber: str = Field(pattern=E164)


class PolicyUpdate(_Strict):
    """``PUT /login-check/v1/policy``: a replacement; an omitted field takes the gateway default."""

    simSwapMaxAgeHours: int | None = Field(default=None, strict=True, ge=1, le=MAX_AGE_HOURS)
    deviceSwapMaxAgeHours: int | None = Field(default=None, strict=True, ge=1, le=MAX_AGE_HOURS)
    attemptsPerNumber: int | None = Field(default=None, strict=True, ge=1, le=MAX_ATTEMPTS)
    attemptsPerDevice: int | None = Field(default=None, strict=True, ge=1, le=MAX_ATTEMPTS)
    attemptsPerIp: int | None = Field(default=None, strict=True, ge=1, le=MAX_ATTEMPTS)
    windowSeconds: int | None = Field(default=None, strict=True, ge=1, le=86_400)

    def over(self, defaults: Thresholds) -> Thresholds:
        """The thresholds this update puts in force."""

        def pick(value: int | None, default: int) -> int:
            return default if value is None else value

        return Thresholds(
            sim_swap_max_age_hours=pick(self.simSwapMaxAgeHours, defaults.sim_swap_max_age_hours),
            device_swap_max_age_hours=pick(self.deviceSwapMaxAgeHours, defaults.device_swap_max_age_hours),
            attempts_per_number=pick(self.attemptsPerNumber, defaults.attempts_per_number),
            attempts_per_device=pick(self.attemptsPerDevice, defaults.attempts_per_device),
            attempts_per_ip=pick(self.attemptsPerIp, defaults.attempts_per_ip),
            window_seconds=pick(self.windowSeconds, defaults.window_seconds),
        )


def assessment_json(result: Assessment) -> dict[str, Any]:
    """The evaluate answer."""
    checks = result.checks
    return {
        "decision": result.decision.value,
        "reasons": [r.value for r in result.reasons],
        "checks": {
            "numberVerified": checks.number_verified,
            "simSwapped": checks.sim_swapped,
            "deviceSwapped": checks.device_swapped,
            "deviceKnown": checks.device_known,
        },
    }


def device_json(device: Device) -> dict[str, Any]:
    """One binding."""
    return {
        "id": device.id,
        "phoneNumber": device.phone_number,
        "deviceId": device.device_id,
        "label": device.label,
        "createdAt": device.created_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
    }


def thresholds_json(thresholds: Thresholds) -> dict[str, int]:
    """The policy answer."""
    return {
        "simSwapMaxAgeHours": thresholds.sim_swap_max_age_hours,
        "deviceSwapMaxAgeHours": thresholds.device_swap_max_age_hours,
        "attemptsPerNumber": thresholds.attempts_per_number,
        "attemptsPerDevice": thresholds.attempts_per_device,
        "attemptsPerIp": thresholds.attempts_per_ip,
        "windowSeconds": thresholds.window_seconds,
    }
