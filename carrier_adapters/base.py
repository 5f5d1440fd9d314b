"""The adapter boundary: value objects and the capability protocol every operator implements.

Adapters take E.164 numbers and return E.164 numbers; national formats stay inside the adapter.
A "no" from the operator is a result (``VerifyResult.REJECT``); exceptions from
:mod:`carrier_adapters.errors` mean there is no usable answer.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = [
    "Assurance",
    "LoginOutcome",
    "OneTapExchanger",
    "OperatorConfig",
    "VerifyOutcome",
    "VerifyResult",
]


class Assurance(enum.StrEnum):
    """How the operator authenticated the subscriber behind a token."""

    NETWORK = "network"
    SMS = "sms"


class VerifyResult(enum.StrEnum):
    """Outcome of a local number check."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    REJECT = "REJECT"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class OperatorConfig:
    """Where an operator is and how this gateway is registered with it.

    ``timeout`` is the whole-call deadline in seconds, ``connect_timeout`` the connect phase.
    ``app_key`` is a shared secret and stays out of ``repr``.
    """

    operator: str
    base_url: str
    app_id: str
    app_key: str = field(repr=False)
    timeout: float = 3.0
    connect_timeout: float = 1.0


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """A token exchanged for the number of the phone that obtained it (always billed)."""

    operator: str
    phone_number: str
    assurance: Assurance
    provider_ref: str
    billed: bool = True


@dataclass(frozen=True, slots=True)
class VerifyOutcome:
    """A local number check: does the token's phone hold ``phone_number``."""

    operator: str
    result: VerifyResult
    billed: bool
    provider_ref: str


@runtime_checkable
class OneTapExchanger(Protocol):
    """One-tap login and local number check against one operator.

    Both calls spend a single-use token: they are never retried once the request may have reached
    the operator (only a refused connection is retried, once).
    """

    @property
    def operator(self) -> str:
        """Operator code: ``cmcc``, ``cucc`` or ``ctcc``."""
        ...

    @property
    def token_lifetime(self) -> int:
        """Seconds an SDK token of this operator stays valid."""
        ...

    def recognises(self, token: str) -> bool:
        """Whether ``token`` has this operator's token shape (a cheap local check)."""
        ...

    async def exchange_login(self, token: str) -> LoginOutcome:
        """Exchange a login token for the phone number.

        :raises TokenRejected, CarrierError:
        """
        ...

    async def verify_number(self, token: str, phone_number: str) -> VerifyOutcome:
        """Check whether the phone that obtained ``token`` holds ``phone_number`` (E.164).

        :raises TokenRejected, NumberNotServed, CarrierError:
        """
        ...

    async def ping(self) -> bool:
        """Whether the operator answers HTTP at all (readiness), within the connect timeout."""
        ...
