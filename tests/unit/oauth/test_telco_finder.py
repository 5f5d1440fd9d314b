"""The telco finder: client IP behind trusted proxies only, and operator ranges."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from gateway.oauth.telco_finder import TelcoFinder, parse_networks
from gateway.settings import Settings


@pytest.fixture
def finder() -> TelcoFinder:
    """Default ranges, proxies on loopback and 192.168.0.0/24."""
    return TelcoFinder(
        {
            "cmcc": parse_networks("10.64.0.0/16"),
            "cucc": parse_networks("10.65.0.0/16"),
            "ctcc": parse_networks("10.66.0.0/16, 2001:db8:66::/48"),
        },
        trusted_proxies=parse_networks("127.0.0.1/32,::1/128,192.168.0.0/24"),
    )


def test_forwarded_for_is_ignored_from_an_untrusted_peer(finder: TelcoFinder) -> None:
    """A device connecting directly cannot claim another address through X-Forwarded-For."""
    assert finder.client_ip("203.0.113.9", "10.64.0.7") == ipaddress.ip_address("203.0.113.9")
    assert finder.operator_for_ip(finder.client_ip("203.0.113.9", "10.64.0.7")) is None


def test_trusted_peer_yields_the_rightmost_untrusted_hop(finder: TelcoFinder) -> None:
    """Behind a chain of trusted proxies the client is the last address no trusted proxy owns."""
    assert finder.client_ip("127.0.0.1", "10.64.0.7") == ipaddress.ip_address("10.64.0.7")
    assert finder.client_ip("127.0.0.1", "10.66.9.9, 10.65.3.3, 192.168.0.4") == ipaddress.ip_address(
        "10.65.3.3"
    )
    assert finder.client_ip("::1", " [2001:db8:66::5] ") == ipaddress.ip_address("2001:db8:66::5")


def test_a_malformed_chain_yields_no_address(finder: TelcoFinder) -> None:
    """Garbage in the chain is not skipped over: no address, so no operator."""
    assert finder.client_ip("127.0.0.1", "10.64.0.7, not-an-ip") is None
    assert finder.operator_for_ip(None) is None


def test_operator_ranges_including_ipv6_and_mapped_ipv4(finder: TelcoFinder) -> None:
    """Each range maps to its operator; an IPv4-mapped IPv6 peer counts as its IPv4 address."""
    assert finder.operator_for_ip(ipaddress.ip_address("10.65.200.1")) == "cucc"
    assert finder.operator_for_ip(ipaddress.ip_address("2001:db8:66::1")) == "ctcc"
    assert finder.operator_for_ip(finder.client_ip("::ffff:10.64.1.1", None)) == "cmcc"
    assert finder.operator_for_ip(ipaddress.ip_address("10.67.0.1")) is None


def test_settings_refuse_malformed_cidrs() -> None:
    """A CIDR list with a bad entry fails at start-up, not at the first request."""
    with pytest.raises(ValidationError):
        Settings(cmcc_cidrs="10.64.0.0/16, 10.64.0.1/16")
    with pytest.raises(ValidationError):
        Settings(trusted_proxies="localhost")
    assert Settings(cucc_cidrs="10.1.0.0/16,fd00::/8").cucc_cidrs == "10.1.0.0/16,fd00::/8"
