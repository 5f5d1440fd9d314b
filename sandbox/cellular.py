"""Where a sandbox phone's requests come from: its operator's mobile data network, or Wi-Fi.

The operators' address ranges and the per-phone derivation (``docs/operator-dialects.md``, "The
sandbox phone"): the gateway's telco finder maps these ranges to operators, so they are part of
the sandbox's contract. A phone's address is a pure function of its number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv4Network
from types import MappingProxyType
from typing import Final

from sandbox.config import Operator

__all__ = ["CELLULAR_RANGES", "cellular_ip", "wifi_ip"]

CELLULAR_RANGES: Final[Mapping[Operator, IPv4Network]] = MappingProxyType(
    {
        "cmcc": IPv4Network("10.64.0.0/16"),
        "cucc": IPv4Network("10.65.0.0/16"),
        "ctcc": IPv4Network("10.66.0.0/16"),
    }
)
_WIFI: Final = IPv4Network("192.0.2.0/24")


def _digest(phone_number: str) -> bytes:
    return hashlib.sha256(phone_number.encode()).digest()


def cellular_ip(phone_number: str, operator: Operator) -> IPv4Address:
    """The phone's address on ``operator``'s data network: never the range's network or broadcast address."""
    network = CELLULAR_RANGES[operator]
    host = 1 + int.from_bytes(_digest(phone_number)[:2], "big") % (network.num_addresses - 2)
    return network.network_address + host


def wifi_ip(phone_number: str) -> IPv4Address:
    """The phone's address on Wi-Fi: ``192.0.2.1`` to ``192.0.2.254`` (TEST-NET-1, no operator)."""
    return _WIFI.network_address + 1 + _digest(phone_number)[0] % (_WIFI.num_addresses - 2)
