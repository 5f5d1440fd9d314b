"""China Mobile (``cmcc``) adapter; dialect in ``docs/operator-dialects.md``."""

from __future__ import annotations

from carrier_adapters.cmcc.adapter import CmccAdapter

__all__ = ["CmccAdapter"]
