"""The sandbox's in-memory world: subscribers (the shared MNP registry), issued tokens and faults.

Nothing here speaks HTTP; the control API and the operators read and change these objects.
"""

from __future__ import annotations

import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal

from sandbox.config import OPERATORS, Operator

__all__ = [
    "AuthType",
    "DeliveryReport",
    "DeviceChange",
    "Faults",
    "IssuedToken",
    "Purpose",
    "SandboxState",
    "SimChange",
    "Subscriber",
    "TokenLedger",
    "random_imei",
]

Purpose = Literal["login", "verify", "h5"]
AuthType = Literal["network", "sms"]
DeliveryReport = Literal["DELIVRD", "UNDELIV", "none"]

_TAC: Final = "35693803"


@dataclass(frozen=True, slots=True)
class SimChange:
    """A SIM card was put in service for the line."""

    at: datetime


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """The line was first seen in the device ``imei`` (None when the seeder did not say which)."""

    at: datetime
    imei: str | None


@dataclass(slots=True)
class Subscriber:
    """A mobile line registered with one operator; ``simChangedAt``/``deviceChangedAt`` follow history."""

    phone_number: str
    operator: Operator
    activated_at: datetime
    imei: str | None = None
    eligible: bool = True
    kyc: dict[str, str] = field(default_factory=dict)
    sim_history: list[SimChange] = field(default_factory=list)
    device_history: list[DeviceChange] = field(default_factory=list)

    @property
    def sim_changed_at(self) -> datetime | None:
        """The latest SIM change, if any."""
        return self.sim_history[-1].at if self.sim_history else None

    @property
    def device_changed_at(self) -> datetime | None:
        """The latest device change, if any."""
        return self.device_history[-1].at if self.device_history else None

    def record_sim_swap(self, at: datetime) -> None:
        """Add a SIM change; history stays in time order."""
        self.sim_history.append(SimChange(at))
        self.sim_history.sort(key=lambda change: change.at)

    def record_device_swap(self, at: datetime, imei: str | None) -> None:
        """Add a device change; it sets the current IMEI unless an earlier-recorded change is later."""
        change = DeviceChange(at, imei)
        self.device_history.append(change)
        self.device_history.sort(key=lambda entry: entry.at)
        if self.device_history[-1] is change:
            self.imei = imei


@dataclass(slots=True)
class IssuedToken:
    """A one-tap token as the operator remembers it; ``used`` flips on its first accepted use."""

    value: str
    phone_number: str
    operator: Operator
    app_id: str
    purpose: Purpose
    auth_type: AuthType
    expires_at: datetime
    used: bool = False


class TokenLedger:
    """Issued tokens by value; tokens are forgotten once expired (an absent token reads as expired)."""

    def __init__(self) -> None:
        self._tokens: dict[str, IssuedToken] = {}
        self._by_expiry: dict[str, deque[IssuedToken]] = {operator: deque() for operator in OPERATORS}

    def __len__(self) -> int:
        return len(self._tokens)

    def get(self, value: str) -> IssuedToken | None:
        """The token issued under ``value``, if still remembered."""
        return self._tokens.get(value)

    def issue(self, token: IssuedToken, *, now: datetime) -> None:
        """Remember ``token`` and forget the tokens that expired by ``now``."""
        self.prune(now)
        self._tokens[token.value] = token
        self._by_expiry[token.operator].append(token)

    def prune(self, now: datetime) -> None:
        """Forget expired tokens (each operator has one lifetime, so its queue is in expiry order)."""
        for queue in self._by_expiry.values():
            while queue and queue[0].expires_at <= now:
                self._tokens.pop(queue.popleft().value, None)

    def clear(self) -> None:
        """Forget every token."""
        self._tokens.clear()
        for queue in self._by_expiry.values():
            queue.clear()


@dataclass(slots=True)
class Faults:
    """Faults injected into one operator's southbound endpoints (and its future SMS delivery)."""

    latency_ms: int = 0
    error_rate: float = 0.0
    down: bool = False
    delivery_report: DeliveryReport = "DELIVRD"


class SandboxState:
    """Everything the sandbox remembers; one instance per application."""

    def __init__(self) -> None:
        self.subscribers: dict[str, Subscriber] = {}
        self.tokens = TokenLedger()
        self.faults: dict[Operator, Faults] = {operator: Faults() for operator in OPERATORS}

    def reset(self) -> None:
        """Forget subscribers and tokens, and clear every fault."""
        self.subscribers.clear()
        self.tokens.clear()
        for operator in OPERATORS:
            self.faults[operator] = Faults()


def random_imei() -> str:
    """A random, Luhn-valid 15-digit IMEI."""
    body = _TAC + "".join(secrets.choice("0123456789") for _ in range(6))
    total = 0
    for index, char in enumerate(body):
        digit = int(char) * (2 if index % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return body + str(-total % 10)
