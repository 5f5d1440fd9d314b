"""The webhook destination policy: which addresses a delivery may connect to, and which URLs register."""

from __future__ import annotations

import pytest

from gateway.webhooks.addresses import UrlRefused, check_webhook_url, refusal_reason

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("10.255.255.255", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"),
    ("169.254.0.1", "link-local"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.255", "CGNAT"),
    ("0.0.0.0", "unspecified"),  # noqa: S104
    ("0.1.2.3", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("255.255.255.255", "reserved"),
    ("240.0.0.1", "reserved"),
    ("192.0.0.8", "IETF protocol assignment"),
    ("192.0.2.10", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("febf:ffff::1", "link-local"),
    ("fec0::1", "site-local"),
    ("fc00::1", "unique-local"),
    ("fd00:ec2::254", "unique-local"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
    ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
    ("::ffff:10.0.0.1", "IPv4-mapped private"),
    ("::ffff:172.16.5.4", "IPv4-mapped private"),
    ("::ffff:192.168.0.1", "IPv4-mapped private"),
    ("::ffff:100.64.0.1", "IPv4-mapped shared (CGNAT)"),
    ("::ffff:0.0.0.0", "IPv4-mapped unspecified"),
    ("::ffff:224.0.0.1", "IPv4-mapped multicast"),
    ("::ffff:255.255.255.255", "IPv4-mapped reserved"),
    ("::127.0.0.1", "reserved"),
    ("64:ff9b::7f00:1", "NAT64"),
    ("2002:7f00:1::1", "6to4"),
    ("2001::1", "not globally routable"),
    ("not-an-ip", "not an IP address"),
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "9.255.255.255",
    "11.0.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "169.253.255.255",
    "169.255.0.1",
    "192.167.255.255",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001:80e::200e",
    "::ffff:8.8.8.8",
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_forbidden_addresses_are_refused_with_their_reason(address: str, reason: str) -> None:
    """Every non-global destination (and the IPv4-mapped form of each) is refused, saying why."""
    got = refusal_reason(address)
    assert got is not None
    assert reason in got


@pytest.mark.parametrize("address", ALLOWED)
def test_global_unicast_addresses_are_allowed(address: str) -> None:
    """Global unicast addresses, including those just outside each forbidden range, are allowed."""
    assert refusal_reason(address) is None


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.bank.example/webhooks?src=gw",
        "https://hooks.bank.example:8443/x",
        "https://8.8.8.8/hook",
        "https://[2606:4700:4700::1111]/hook",
    ],
)
def test_public_https_urls_register(url: str) -> None:
    """Public https URLs register unchanged when private webhooks are not allowed."""
    assert check_webhook_url(url, allow_private=False) == url


def test_idna_hosts_are_normalised() -> None:
    """An internationalised host is stored in its ASCII (punycode) form."""
    assert (
        check_webhook_url("https://bücher.example/x", allow_private=False)
        == "https://xn--bcher-kva.example/x"
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.bank.example/x", "https"),
        ("ftp://hooks.bank.example/x", "https"),
        ("/relative/path", "absolute"),
        ("https://", "absolute"),
        ("https://user:pw@hooks.bank.example/", "credentials"),
        ("https://hooks.bank.example/#frag", "fragment"),
        ("https://localhost/x", "local"),
        ("https://LOCALHOST./x", "local"),
        ("https://api.localhost/x", "local"),
        ("https://printer.local/x", "local"),
        ("https://metadata.google.internal/x", "local"),
        ("https://router.home.arpa/x", "local"),
        ("https://intranet/x", "local"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://10.1.2.3/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://100.64.0.1/x", "CGNAT"),
        ("https://[::1]/x", "loopback"),
        ("https://[::ffff:127.0.0.1]/x", "IPv4-mapped loopback"),
        ("https://[::ffff:169.254.169.254]/x", "IPv4-mapped link-local"),
        ("https://[fe80::1]/x", "link-local"),
        ("https://[fd00::1]/x", "unique-local"),
        ("https://2130706433/x", "canonical"),
        ("https://127.1/x", "canonical"),
        ("https://0x7f000001/x", "canonical"),
        ("https://hooks.bank.example/" + "a" * 2100, "longer"),
    ],
)
def test_unsafe_urls_are_refused(url: str, reason: str) -> None:
    """Non-https, credentials, fragments, local names and non-global or non-canonical IP hosts are refused."""
    with pytest.raises(UrlRefused) as caught:
        check_webhook_url(url, allow_private=False)
    assert reason in str(caught.value)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8080/hook", "http://localhost:9000/", "https://[::1]:8443/x", "http://intranet/"],
)
def test_private_targets_register_when_allowed(url: str) -> None:
    """With private webhooks allowed (sandbox, development), http and local targets register."""
    assert check_webhook_url(url, allow_private=True) == url


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/", "http://u:p@127.0.0.1/", "http://127.1/"])
def test_allowing_private_targets_keeps_the_other_rules(url: str) -> None:
    """Allowing private targets still refuses other schemes, credentials and non-canonical IP forms."""
    with pytest.raises(UrlRefused):
        check_webhook_url(url, allow_private=True)
