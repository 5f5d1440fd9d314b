"""CAMARA network APIs (contract §3): Number Verification, SIM Swap, Device Swap, KYC Match.

Exact CAMARA wire format (``schemas``, ``views``); the identifier rules of Commonalities once for
all APIs (``identifiers``); one service per API family (``number_verification``, ``swap``,
``kyc``), free of aiohttp, asking the line's operator through
:class:`carrier_adapters.LineInsight`; answered calls land in the usage ledger (``usage``).
"""

from __future__ import annotations

from gateway.camara.services import CamaraServices, build_camara_services

__all__ = ["CamaraServices", "build_camara_services"]
