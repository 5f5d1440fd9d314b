"""Which operator carries an SMS to a number.

A mainland number goes first to the operator owning its block
(:func:`carrier_adapters.operator_for_number`, a guess: numbers port), then to the other
configured operators in contract order, each tried only after the previous one answered
"not my subscriber" (:class:`~carrier_adapters.NumberNotServed`, which means nothing was sent).
Other numbers go to the international route (``intl``, an SMPP gateway: setting
``INTL_SMS_URL``) when one is configured, else only to the configured fallback operator (setting
``PUSH_FALLBACK_OPERATOR``), or nowhere. The international route never carries mainland numbers.
"""

from __future__ import annotations

from collections.abc import Collection

from carrier_adapters import operator_for_number

__all__ = ["INTL", "ORDER", "route"]

ORDER: tuple[str, ...] = ("cmcc", "cucc", "ctcc")
INTL = "intl"


def route(e164: str, configured: Collection[str], *, fallback: str | None) -> list[str]:
    """The operators to try for ``e164``, best guess first; only operators in ``configured``."""
    if not e164.startswith("+86"):
        abroad = INTL if INTL in configured else fallback
        return [abroad] if abroad is not None and abroad in configured else []
    first = operator_for_number(e164) or fallback
    ordered = [first] if first is not None else []
    ordered += [op for op in (*ORDER, *sorted(configured)) if op not in ordered]
    return [op for op in dict.fromkeys(ordered) if op in configured and op != INTL]
