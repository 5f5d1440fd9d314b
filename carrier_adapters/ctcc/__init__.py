"""China Telecom (``ctcc``) adapter; dialect in ``docs/operator-dialects.md``."""

from __future__ import annotations

from carrier_adapters.ctcc.adapter import CtccAdapter

__all__ = ["CtccAdapter"]
