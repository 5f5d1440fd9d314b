"""Where webhooks may go: the destination address policy and the URL policy (SSRF defence).

:func:`refusal_reason` is applied to every address a delivery would connect to, at connect time
(see :mod:`gateway.webhooks.egress`). It refuses everything that is not globally routable, with an
explicit deny list because the ``ipaddress`` data of Python 3.11.7 predates CVE-2024-4032's fix and
calls multicast and CGNAT addresses global:

- IPv4: 0/8 unspecified, 10/8 172.16/12 192.168/16 private, 100.64/10 CGNAT, 127/8 loopback,
  169.254/16 link-local (cloud metadata), 192.0.0/24 protocol assignments, 192.0.2/24
  198.51.100/24 203.0.113/24 documentation, 198.18/15 benchmarking, 224/4 multicast, 240/4 reserved
  (broadcast included);
- IPv6: ``::`` unspecified, ``::1`` loopback, ``::ffff:0:0/96`` IPv4-mapped (judged by the
  embedded IPv4 address), 64:ff9b::/96 NAT64, 2002::/16 6to4, fc00::/7 unique-local, fe80::/10
  link-local, fec0::/10 site-local, ff00::/8 multicast, 2001:db8::/32 documentation, ``::/8``
  reserved (IPv4-compatible forms included); anything else not global.

:func:`check_webhook_url` is applied when a URL is registered and again before every send:
``https`` only (``http`` too when private webhooks are allowed), no userinfo or fragment, a
canonical host; unless private webhooks are allowed, IP-literal hosts must pass
:func:`refusal_reason`, and ``localhost``, ``*.localhost``, ``*.local``, ``*.internal``,
``*.home.arpa`` and single-label names are refused. Names are not resolved at registration: DNS
answers change, so the connect-time check is the one that counts.
"""

from __future__ import annotations

import ipaddress
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from yarl import URL

__all__ = ["MAX_URL_LENGTH", "UrlRefused", "check_webhook_url", "refusal_reason"]

MAX_URL_LENGTH = 2048

_IPV4: tuple[tuple[IPv4Network, str], ...] = tuple(
    (IPv4Network(net), why)
    for net, why in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
    )
)
_IPV6: tuple[tuple[IPv6Network, str], ...] = tuple(
    (IPv6Network(net), why)
    for net, why in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b::/96", "NAT64"),
        ("64:ff9b:1::/48", "NAT64"),
        ("2002::/16", "6to4"),
        ("fc00::/7", "unique-local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
        ("2001:db8::/32", "documentation"),
        ("::/8", "reserved"),
    )
)
_MAPPED = IPv6Network("::ffff:0:0/96")
_RESERVED_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa")


class UrlRefused(ValueError):
    """A webhook URL the policy does not accept; ``str()`` is a client-safe reason."""


def refusal_reason(address: str | IPv4Address | IPv6Address) -> str | None:
    """Why a connection to ``address`` is forbidden, or None when it is a global unicast address."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return "not an IP address"
    if isinstance(ip, IPv6Address):
        if ip.scope_id:
            ip = IPv6Address(str(ip).split("%", 1)[0])
        if ip in _MAPPED:
            inner = refusal_reason(IPv4Address(int(ip) & 0xFFFFFFFF))
            return None if inner is None else f"IPv4-mapped {inner}"
        table: tuple[tuple[IPv4Network | IPv6Network, str], ...] = _IPV6
    else:
        table = _IPV4
    for network, why in table:
        if ip in network:
            return why
    return None if ip.is_global else "not globally routable"


def _looks_numeric(host: str) -> bool:
    last = host.rsplit(".", 1)[-1]
    return last.isdigit() or last.startswith("0x")


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """The normalised URL (IDNA host) if the policy in the module docstring accepts it.

    :raises UrlRefused: with the reason.
    """
    if len(url) > MAX_URL_LENGTH:
        raise UrlRefused(f"the URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parsed = URL(url)
        host = parsed.raw_host
    except (ValueError, TypeError) as exc:
        raise UrlRefused("not a valid URL") from exc
    schemes = ("https", "http") if allow_private else ("https",)
    if not parsed.is_absolute() or parsed.scheme not in schemes:
        raise UrlRefused("the URL must be absolute and use " + " or ".join(schemes))
    if not host:
        raise UrlRefused("the URL has no host")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise UrlRefused("the URL must not carry credentials")
    if parsed.raw_fragment:
        raise UrlRefused("the URL must not carry a fragment")
    name = host.lower().rstrip(".")
    try:
        literal: IPv4Address | IPv6Address | None = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        literal = None
    if literal is None and _looks_numeric(name):
        raise UrlRefused("the host is neither a DNS name nor a canonical IP address")
    if allow_private:
        return str(parsed)
    if literal is not None:
        reason = refusal_reason(literal)
        if reason is not None:
            raise UrlRefused(f"the host is a {reason} address")
    elif "." not in name or name == "localhost" or name.endswith(_RESERVED_SUFFIXES):
        raise UrlRefused("the host is a local or internal name")
    return str(parsed)
