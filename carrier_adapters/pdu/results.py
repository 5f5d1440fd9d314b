"""What a submit or login result code means for the session that received it."""

from __future__ import annotations

from enum import Enum

__all__ = ["SubmitOutcome"]


class SubmitOutcome(Enum):
    """The session layer's reading of an operator's result code.

    ``ACCEPTED``: the operator took the request. ``THROTTLED``: flow control; slow down and send
    the same request again. ``REJECTED``: the request itself is wrong (a ``CarrierRejected``);
    sending it again cannot help. ``UNAVAILABLE``: the operator failed on its side; retry later.
    ``NOT_SERVED``: the destination number is not served by this operator or route.
    """

    ACCEPTED = "accepted"
    THROTTLED = "throttled"
    REJECTED = "rejected"
    UNAVAILABLE = "unavailable"
    NOT_SERVED = "not_served"
