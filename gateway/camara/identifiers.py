"""Which line a CAMARA call is about: the identifier rules of Commonalities (camara.md §2.4), once.

=====================  =====================  ==============================================
token                  ``phoneNumber`` sent   result
=====================  =====================  ==============================================
3-legged               absent                 the token's line (its number and operator)
3-legged               present                ``STRICT`` (SIM Swap, Device Swap):
                                              422 UNNECESSARY_IDENTIFIER, even if equal;
                                              ``CONFIRM`` (KYC Match): the token's line if
                                              equal, else 403 INVALID_TOKEN_CONTEXT
2-legged               absent                 422 MISSING_IDENTIFIER
2-legged               present                the number; its operator is guessed from the
                                              number range; no guess, or an operator this
                                              gateway does not serve: 404 IDENTIFIER_NOT_FOUND
=====================  =====================  ==============================================

A malformed number never gets here (the request schema answers 400), and numbers the operator
does not serve or does not serve for the API are the operator's answers (404
IDENTIFIER_NOT_FOUND, 422 SERVICE_NOT_APPLICABLE, see :func:`gateway.errors.from_line_error`).
Number Verification is not in this table: it accepts 3-legged tokens only and compares the body's
number instead (:mod:`gateway.camara.number_verification`).

Porting is not handled yet: a 2-legged request goes to the operator that owns the number's
block (``carrier_adapters.operator_for_number``), so a number ported away from it answers
404 IDENTIFIER_NOT_FOUND. A number portability lookup belongs here once an operator offers one.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from carrier_adapters import LineInsight, operator_for_number
from gateway.errors import (
    IdentifierNotFound,
    InvalidTokenContext,
    MissingIdentifier,
    Unavailable,
    UnnecessaryIdentifier,
)
from gateway.oauth.tokens import Principal

__all__ = ["IdentifierRule", "Line", "LineDirectory", "same_number"]


class IdentifierRule(enum.Enum):
    """How an API treats a ``phoneNumber`` sent with a 3-legged token."""

    STRICT = "strict"
    """Refused with 422 UNNECESSARY_IDENTIFIER, whether or not it is the token's number."""
    CONFIRM = "confirm"
    """Accepted when it is the token's number, else 403 INVALID_TOKEN_CONTEXT (KYC Match)."""


@dataclass(frozen=True, slots=True)
class Line:
    """The line a call is about, and the operator asked about it."""

    phone_number: str
    operator: str
    insight: LineInsight


def same_number(a: str, b: str) -> bool:
    """Whether two E.164 numbers are equal, in time independent of where they differ."""
    return hmac.compare_digest(a.encode(), b.encode())


class LineDirectory:
    """Resolves the subject line of a call against the configured operators."""

    def __init__(self, operators: Mapping[str, LineInsight]) -> None:
        self._operators = operators

    def resolve(self, who: Principal, phone_number: str | None, rule: IdentifierRule) -> Line:
        """The line ``who`` asks about (see the module table).

        :raises UnnecessaryIdentifier, InvalidTokenContext, MissingIdentifier, IdentifierNotFound:
        :raises Unavailable: a 3-legged token's operator is not configured on this gateway.
        """
        subscriber = who.subscriber
        if subscriber is not None:
            if phone_number is not None:
                if rule is IdentifierRule.STRICT:
                    raise UnnecessaryIdentifier()
                if not same_number(phone_number, subscriber.phone_number):
                    raise InvalidTokenContext()
            return self._line(subscriber.phone_number, subscriber.operator)
        if phone_number is None:
            raise MissingIdentifier("phoneNumber is required with a two-legged access token.")
        operator = operator_for_number(phone_number)
        if operator is None or operator not in self._operators:
            raise IdentifierNotFound()
        return self._line(phone_number, operator)

    def _line(self, phone_number: str, operator: str) -> Line:
        insight = self._operators.get(operator)
        if insight is None:
            raise Unavailable("The operator is not configured on this gateway.")
        return Line(phone_number=phone_number, operator=operator, insight=insight)
