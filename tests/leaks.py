"""Detect personal data and secrets in captured log output (used on every test's logs)."""

from __future__ import annotations

import re

__all__ = ["SENSITIVE", "find_leaks"]

SENSITIVE: set[str] = set()
_UNMASKED_PHONE = re.compile(r"(?<![\d*])(?:\+?86)?1[3-9]\d{9}(?![\d*])|\+[1-9]\d{9,14}(?![\d*])")


def find_leaks(text: str, sensitive: set[str] | None = None) -> list[str]:
    """Unmasked phone numbers and any registered secret value found in ``text`` (masked in the report)."""
    found = [m.group(0)[:6] + "…" for m in _UNMASKED_PHONE.finditer(text)]
    found += [value[:6] + "…" for value in (sensitive or SENSITIVE) if len(value) >= 8 and value in text]
    return found
