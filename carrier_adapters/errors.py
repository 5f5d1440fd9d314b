"""Carrier error tree: every failure an adapter reports, translated once at the adapter boundary.

::

    CarrierError                      no usable answer from the operator
    ├── CarrierUnavailable            connection refused / dropped, HTTP 5xx, operator system error
    │   └── CircuitOpen               not called: the transport holds the operator as down
    ├── CarrierTimeout                no answer within the call's deadline (token may be consumed)
    ├── CarrierProtocolError          an answer we cannot understand (garbage body, unknown code)
    ├── CarrierRejected               the operator refused *our* request (sign, app id, parameters,
    │                                 rate limit): a configuration or gateway bug, never the user's
    ├── TokenRejected                 the operator refused the *token*: expired, reused, another
    │                                 app's, wrong purpose, unparseable
    └── NumberNotServed               the number is not this operator's subscriber

A negative answer ("not this number") is a result, not an error. Messages never contain phone
numbers or tokens; ``code`` is the operator's raw result code when there was one.
"""

from __future__ import annotations

__all__ = [
    "CarrierError",
    "CarrierProtocolError",
    "CarrierRejected",
    "CarrierTimeout",
    "CarrierUnavailable",
    "CircuitOpen",
    "LineNotEligible",
    "NumberNotServed",
    "TokenRejected",
]


class CarrierError(Exception):
    """Base of every adapter failure; ``operator`` and the raw ``code`` are kept for logs."""

    def __init__(self, operator: str, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.operator = operator
        self.message = message
        self.code = code


class CarrierUnavailable(CarrierError):
    """The operator could not be reached or reported a system failure.

    ``retry_after`` is set when the client knows how long the operator stays unavailable (an open
    circuit): the seconds until it is tried again. ``unsent`` is true when the request never left
    (connection refused, open circuit): a single-use token in it was not spent.
    """

    def __init__(
        self,
        operator: str,
        message: str,
        *,
        code: str | None = None,
        retry_after: float | None = None,
        unsent: bool = False,
    ) -> None:
        super().__init__(operator, message, code=code)
        self.retry_after = retry_after
        self.unsent = unsent


class CarrierTimeout(CarrierError):
    """The operator did not answer in time; a single-use token must be treated as consumed."""


class CarrierProtocolError(CarrierError):
    """The operator answered something this adapter cannot interpret."""


class CarrierRejected(CarrierError):
    """The operator refused the request itself (signature, app id, parameters, rate limit)."""


class TokenRejected(CarrierError):
    """The operator refused the SDK token (expired, reused, another app's, wrong purpose)."""


class NumberNotServed(CarrierError):
    """The phone number is not a subscriber of this operator."""


class LineNotEligible(CarrierError):
    """The line exists but the operator does not serve this capability for it (IoT, B2B, barred)."""


class CircuitOpen(CarrierUnavailable):
    """The transport did not call the operator: it holds it as down (open circuit).

    Nothing was sent (``unsent``); the adapters do not retry it. ``retry_after`` is the seconds
    until the transport tries the operator again (0 when it is being probed right now).
    """

    def __init__(self, operator: str, *, retry_after: float) -> None:
        super().__init__(
            operator, f"{operator} is unavailable (circuit open)", retry_after=retry_after, unsent=True
        )
