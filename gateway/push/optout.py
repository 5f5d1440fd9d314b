"""Opt-out replies (contract §6; china-operators.md §7.7): ``T``, ``TD`` or ``R`` from the recipient.

A reply counts when, after NFKC normalisation (full-width letters become ASCII, the ideographic
space a space), trimming and upper-casing, it is exactly one of the keywords. Any other reply is
not an opt-out (and is not stored: it is free text from a person).
"""

from __future__ import annotations

import unicodedata

__all__ = ["OPT_OUT_KEYWORDS", "is_opt_out"]

OPT_OUT_KEYWORDS = frozenset({"T", "TD", "R"})


def is_opt_out(text: str) -> bool:
    """Whether the reply ``text`` asks to stop marketing messages."""
    return unicodedata.normalize("NFKC", text).strip().upper() in OPT_OUT_KEYWORDS
