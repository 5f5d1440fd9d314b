"""How the gateway and its sandbox share the operators' SMS gateway accounts (``gateway up``,
``gateway sandbox``, the test stacks and the benchmarks).

The gateway learns an SMS gateway from its URL (``GATEWAY_<OP>_SMS_URL``, docs/sms-protocols.md);
the sandbox from a :class:`~sandbox.SmscAccount` and a port. :func:`sms_url` writes the URL of a
sandbox account; :func:`sandbox_accounts` reads the accounts back from the gateway's settings, so
both sides hold the same login and secret, and :func:`sgip_listener` tells the sandbox's SGIP SMG
where the gateway listens for its reports. The sandbox serves China Mobile on CMPP, China Unicom
on SGIP, China Telecom on SMGP and the international route on SMPP (:data:`SANDBOX_PROTOCOLS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import quote, urlencode

from carrier_adapters.smsc.url import SmscUrl, parse_smsc_url
from gateway.settings import Settings
from sandbox import SmscAccount

__all__ = ["SANDBOX_PROTOCOLS", "SGIP_SERVICE_TYPE", "sandbox_accounts", "sgip_listener", "sms_url"]

SANDBOX_PROTOCOLS: Mapping[str, str] = MappingProxyType(
    {"cmcc": "cmpp", "cucc": "sgip", "ctcc": "smgp", "intl": "smpp"}
)
"""Operator -> the protocol of its SMS gateway in the sandbox."""
SGIP_SERVICE_TYPE = "SANDBOX"


def sms_url(operator: str, account: SmscAccount, host: str, port: int, **options: str) -> str:
    """The gateway's ``<OP>_SMS_URL`` for ``account`` at the sandbox's ``host:port``, with ``options``
    (SGIP needs ``listen``, the address the gateway's listener binds)."""
    protocol = SANDBOX_PROTOCOLS[operator]
    authority = f"[{host}]" if ":" in host else host
    login, secret = quote(account.login, safe=""), quote(account.secret, safe="")
    if protocol == "sgip":
        corp_id = account.corp_id or "00000"
        query = {
            "node_id": f"30{corp_id}0",
            "corp_id": corp_id,
            "sp_number": account.access_number,
            "service_type": SGIP_SERVICE_TYPE,
        }
    elif protocol == "smpp":
        query = {"source_addr": account.access_number}
    else:
        query = {"src_id": account.access_number}
    return f"{protocol}://{login}:{secret}@{authority}:{port}?{urlencode({**query, **options})}"


def _account(url: SmscUrl) -> SmscAccount:
    if url.protocol == "sgip":
        return SmscAccount(
            url.login, url.secret, url.options.get("sp_number", ""), corp_id=url.options.get("corp_id")
        )
    number = url.options.get("source_addr" if url.protocol == "smpp" else "src_id", "")
    return SmscAccount(url.login, url.secret, number)


def sandbox_accounts(settings: Settings) -> dict[str, SmscAccount]:
    """The sandbox accounts named by the gateway's SMS URLs (operators without one: none).

    :raises ValueError: a URL is malformed, or its sender number is not a ``106…`` access number.
    """
    urls = settings.sms_urls()
    return {op: _account(parse_smsc_url(urls[op])) for op in SANDBOX_PROTOCOLS if op in urls}


def sgip_listener(settings: Settings) -> str | None:
    """Where the gateway's SGIP listener binds (its cucc URL's ``listen``), for the sandbox's SMG."""
    url = settings.sms_urls().get("cucc")
    return parse_smsc_url(url).options.get("listen") if url else None
