"""Who a 3-legged token is for: login hints (CAMARA ICM) and the authenticated subscriber.

A backend flow (CIBA, JWT-bearer) names its subscriber by hint:

- ``tel:+<E.164>``: the number as the client asserts it. The subscriber is *identified*, not
  authenticated: ``amr`` is ``["tel"]``, which Number Verification refuses.
- ``operatortoken:<SDK token>``: a single-use token the operator's SDK obtained on the phone; it is
  claimed in the replay cache (the same marker one-tap login uses, so a token is spent once across
  both) and exchanged at its operator (``amr`` ``["network"]``, or ``["sms_otp"]`` when the operator
  says so). It is never retried once the operator may have consumed it.

``ipport:`` hints are not supported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import structlog

from carrier_adapters import (
    Assurance,
    CarrierError,
    NumberNotServed,
    OneTapExchanger,
    TokenRejected,
    operator_for_number,
    operator_for_token,
)
from gateway.clock import Clock
from gateway.replay import ReplayCache

__all__ = [
    "E164",
    "AuthenticatedSubscriber",
    "HintError",
    "LoginHint",
    "SubjectRejected",
    "SubjectResolver",
    "SubjectUnavailable",
]

E164 = re.compile(r"^\+[1-9][0-9]{4,14}$")
_MAX_TOKEN_LENGTH = 2048
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class AuthenticatedSubscriber:
    """The subscriber a flow established: number (E.164), operator, ``amr`` and when it happened."""

    phone_number: str
    operator: str
    amr: tuple[str, ...]
    auth_time: datetime


@dataclass(frozen=True, slots=True, repr=False)
class LoginHint:
    """A parsed hint: ``kind`` is ``tel`` or ``operatortoken``; ``value`` the number or the token."""

    kind: str
    value: str
    operator: str


class HintError(Exception):
    """The hint is malformed (``malformed``) or names no subscriber of a configured operator (``unknown``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SubjectRejected(Exception):
    """The operator refused the token or does not serve the number."""


class SubjectUnavailable(Exception):
    """The operator gave no usable answer; the token must be taken as spent."""


class SubjectResolver:
    """Parses login hints and authenticates the subscriber they name."""

    def __init__(self, exchangers: Mapping[str, OneTapExchanger], replay: ReplayCache, clock: Clock) -> None:
        self._exchangers = exchangers
        self._replay = replay
        self._clock = clock

    def parse(self, hint: str) -> LoginHint:
        """Parse ``tel:+E164`` or ``operatortoken:<token>`` and pick the operator (no network call).

        :raises HintError:
        """
        kind, sep, value = hint.partition(":")
        if kind == "tel" and sep and E164.match(value):
            operator = operator_for_number(value)
            if operator is None or operator not in self._exchangers:
                raise HintError("unknown", "The number is not served by a supported operator.")
            return LoginHint("tel", value, operator)
        if kind == "operatortoken" and sep and 0 < len(value) <= _MAX_TOKEN_LENGTH:
            operator = operator_for_token(value, self._exchangers)
            if operator is None:
                raise HintError("unknown", "The operator token is not recognised by any operator.")
            return LoginHint("operatortoken", value, operator)
        raise HintError("malformed", "login_hint must be tel:+<E.164 number> or operatortoken:<token>.")

    async def authenticate(self, hint: LoginHint) -> AuthenticatedSubscriber:
        """The subscriber ``hint`` names; an operator token is spent here.

        :raises SubjectRejected, SubjectUnavailable:
        """
        if hint.kind == "tel":
            return AuthenticatedSubscriber(hint.value, hint.operator, ("tel",), self._clock.now())
        exchanger = self._exchangers[hint.operator]
        key = f"one_tap:{exchanger.operator}:{hint.value}"
        if not await self._replay.claim(key, exchanger.token_lifetime):
            raise SubjectRejected("operator token already used")
        try:
            outcome = await exchanger.exchange_login(hint.value)
        except (TokenRejected, NumberNotServed) as exc:
            log.info("operator_token_rejected", operator=exc.operator, result_code=exc.code)
            raise SubjectRejected("operator refused the token") from exc
        except CarrierError as exc:
            log.warning("operator_call_failed", operator=exc.operator, error=type(exc).__name__)
            raise SubjectUnavailable("operator unavailable") from exc
        amr = "network" if outcome.assurance is Assurance.NETWORK else "sms_otp"
        return AuthenticatedSubscriber(outcome.phone_number, outcome.operator, (amr,), self._clock.now())
