"""How the gateway and its sandbox share the operators' SMS gateway accounts (``gateway up``,
``gateway sandbox``, the test stacks and the benchmarks).

The gateway learns an SMS gateway from its URL (``GATEWAY_<OP>_SMS_URL``, docs/sms-protocols.md);
the sandbox from a :class:`~sandbox.SmscAccount` and a port. :func:`sms_url` writes the URL of a
sandbox account; :func:`sandbox_accounts` reads the accounts back from the gateway's settings, so
both sides hold the same login and secret. The sandbox serves China Mobile on CMPP and China
Telecom on SMGP (:data:`SANDBOX_PROTOCOLS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import quote, urlencode

from carrier_adapters.smsc.url import parse_smsc_url
from gateway.settings import Settings
from sandbox import SmscAccount

__all__ = ["SANDBOX_PROTOCOLS", "sandbox_accounts", "sms_url"]

SANDBOX_PROTOCOLS: Mapping[str, str] = MappingProxyType({"cmcc": "cmpp", "ctcc": "smgp"})
"""Operator -> the protocol of its SMS gateway in the sandbox."""


def sms_url(operator: str, account: SmscAccount, host: str, port: int, **options: str) -> str:
    """The gateway's ``<OP>_SMS_URL`` for ``account`` at the sandbox's ``host:port``, with ``options``."""
    protocol = SANDBOX_PROTOCOLS[operator]
    authority = f"[{host}]" if ":" in host else host
    login, secret = quote(account.login, safe=""), quote(account.secret, safe="")
    query = urlencode({"src_id": account.access_number, **options})
    return f"{protocol}://{login}:{secret}@{authority}:{port}?{query}"


def sandbox_accounts(settings: Settings) -> dict[str, SmscAccount]:
    """The sandbox accounts named by the gateway's SMS URLs (operators without one: none).

    :raises ValueError: a URL of a sandbox operator is malformed or lacks ``src_id``.
    """
    accounts = {}
    urls = settings.sms_urls()
    for operator in SANDBOX_PROTOCOLS:
        if operator in urls:
            url = parse_smsc_url(urls[operator])
            accounts[operator] = SmscAccount(url.login, url.secret, url.options.get("src_id", ""))
    return accounts
