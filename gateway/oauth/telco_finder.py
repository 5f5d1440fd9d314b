"""Telco finder: which operator's mobile network a device is on, from the source IP it connects from.

Network-based authentication only works on the operator's cellular data network (CAMARA ICM), so
the gateway routes an authorization request to the operator whose address ranges hold the
device's IP. The client IP is the TCP peer, or, only when the peer is a trusted proxy, the
right-most ``X-Forwarded-For`` entry that is not itself a trusted proxy (entries further left are
client-supplied and could be forged). A malformed chain yields no IP rather than a guess.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["IPAddress", "IPNetwork", "TelcoFinder", "parse_networks"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(spec: str) -> tuple[IPNetwork, ...]:
    """Parse a comma-separated CIDR list (``"10.64.0.0/16, ::1/128"``).

    :raises ValueError: on an entry that is not a network address (host bits set included).
    """
    return tuple(ipaddress.ip_network(part.strip()) for part in spec.split(",") if part.strip())


def _address(text: str) -> IPAddress | None:
    candidate = text.strip()
    if candidate.startswith("[") and "]" in candidate:
        candidate = candidate[1 : candidate.index("]")]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _within(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


class TelcoFinder:
    """Maps a connection to the operator whose cellular ranges hold the device's address."""

    def __init__(
        self, ranges: Mapping[str, Sequence[IPNetwork]], *, trusted_proxies: Sequence[IPNetwork]
    ) -> None:
        self._ranges = {operator: tuple(networks) for operator, networks in ranges.items()}
        self._trusted = tuple(trusted_proxies)

    def client_ip(self, peer: str | None, forwarded_for: str | None) -> IPAddress | None:
        """The device's address; see the module docstring for the trust rule."""
        address = _address(peer) if peer else None
        if address is None or not forwarded_for or not _within(address, self._trusted):
            return address
        for hop in reversed(forwarded_for.split(",")):
            address = _address(hop)
            if address is None:
                return None
            if not _within(address, self._trusted):
                return address
        return address

    def operator_for_ip(self, address: IPAddress | None) -> str | None:
        """The operator whose cellular ranges hold ``address``, if any."""
        if address is None:
            return None
        for operator, networks in self._ranges.items():
            if _within(address, networks):
                return operator
        return None
