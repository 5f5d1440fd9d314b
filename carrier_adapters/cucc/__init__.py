"""China Unicom (``cucc``) adapter; dialect in ``docs/operator-dialects.md``."""

from __future__ import annotations

from carrier_adapters.cucc.adapter import CuccAdapter

__all__ = ["CuccAdapter"]
