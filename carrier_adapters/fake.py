"""An in-memory :class:`~carrier_adapters.base.OneTapExchanger` for unit tests of the gateway.

Tests mint tokens for a phone and a purpose, then exercise the gateway; the fake applies the
common token rules of ``docs/operator-dialects.md`` (single use, purpose, operator token shape)
and raises whatever failure a test queued.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from carrier_adapters.base import Assurance, LoginOutcome, VerifyOutcome, VerifyResult
from carrier_adapters.errors import CarrierError, TokenRejected
from carrier_adapters.registry import ADAPTER_CLASSES

__all__ = ["FakeExchanger", "Purpose"]

Purpose = Literal["login", "verify", "h5"]

_MINTERS: MappingProxyType[str, Callable[[Purpose], str]] = MappingProxyType(
    {
        "cmcc": lambda purpose: ("H5HTTPS" if purpose == "h5" else "STsid") + secrets.token_hex(16),
        "cucc": lambda purpose: "CUAT" + secrets.token_urlsafe(30),
        "ctcc": lambda purpose: "CTA0" + secrets.token_hex(20),
    }
)


@dataclass(slots=True)
class _Grant:
    phone_number: str
    purpose: Purpose
    assurance: Assurance
    verify_result: VerifyResult | None
    used: bool = False


class FakeExchanger:
    """In-memory exchanger for ``operator`` (``cmcc``, ``cucc`` or ``ctcc``) with that operator's token shape.

    Tokens are single use. A login token is accepted by :meth:`exchange_login` only; ``verify`` and
    ``h5`` tokens by :meth:`verify_number` only. Unknown, reused and wrong-purpose tokens raise
    :class:`TokenRejected` with code ``"invalid"``, ``"replay"`` or ``"purpose"``. Failures queued
    with :meth:`fail_next` are raised, in order, before any token rule. ``calls`` records
    ``(method, token)`` for every exchange.
    """

    def __init__(self, operator: str = "cmcc", *, up: bool = True) -> None:
        self._adapter_class = ADAPTER_CLASSES[operator]
        self._grants: dict[str, _Grant] = {}
        self._failures: list[CarrierError] = []
        self._serial = 0
        self.up = up
        self.calls: list[tuple[str, str]] = []

    def __repr__(self) -> str:
        return f"FakeExchanger(operator={self.operator!r})"

    @property
    def operator(self) -> str:
        """Operator code this fake stands in for."""
        return self._adapter_class.OPERATOR

    @property
    def token_lifetime(self) -> int:
        """The real operator's token lifetime, in seconds."""
        return self._adapter_class.TOKEN_LIFETIME

    def issue(
        self,
        phone_number: str,
        *,
        purpose: Purpose = "login",
        assurance: Assurance = Assurance.NETWORK,
        verify_result: VerifyResult | None = None,
    ) -> str:
        """Mint a token of this operator's shape for ``phone_number`` (E.164).

        ``verify_result`` forces a check's result (e.g. ``UNKNOWN``) instead of comparing numbers.
        """
        token = _MINTERS[self.operator](purpose)
        self._grants[token] = _Grant(phone_number, purpose, assurance, verify_result)
        return token

    def fail_next(self, *errors: CarrierError) -> None:
        """Raise ``errors``, one per exchange call, before applying any token rule."""
        self._failures.extend(errors)

    def recognises(self, token: str) -> bool:
        """Whether ``token`` has this operator's token shape."""
        return self._adapter_class.TOKEN_SHAPE.fullmatch(token) is not None

    async def exchange_login(self, token: str) -> LoginOutcome:
        """The number behind a login token.

        :raises TokenRejected, CarrierError:
        """
        grant = self._spend("exchange_login", token, frozenset({"login"}))
        return LoginOutcome(
            operator=self.operator,
            phone_number=grant.phone_number,
            assurance=grant.assurance,
            provider_ref=self._next_ref(),
        )

    async def verify_number(self, token: str, phone_number: str) -> VerifyOutcome:
        """Whether the token's phone holds ``phone_number``; billed unless the result is ``UNKNOWN``.

        :raises TokenRejected, CarrierError:
        """
        grant = self._spend("verify_number", token, frozenset({"verify", "h5"}))
        result = grant.verify_result or (
            VerifyResult.PASS if grant.phone_number == phone_number else VerifyResult.REJECT
        )
        return VerifyOutcome(
            operator=self.operator,
            result=result,
            billed=result is not VerifyResult.UNKNOWN,
            provider_ref=self._next_ref(),
        )

    async def ping(self) -> bool:
        """The ``up`` flag."""
        return self.up

    def _spend(self, method: str, token: str, purposes: frozenset[str]) -> _Grant:
        self.calls.append((method, token))
        if self._failures:
            raise self._failures.pop(0)
        grant = self._grants.get(token)
        if grant is None:
            raise TokenRejected(self.operator, "unknown token", code="invalid")
        if grant.used:
            raise TokenRejected(self.operator, "token already used", code="replay")
        if grant.purpose not in purposes:
            raise TokenRejected(self.operator, "token minted for another purpose", code="purpose")
        grant.used = True
        return grant

    def _next_ref(self) -> str:
        self._serial += 1
        return f"fake-{self.operator}-{self._serial}"
