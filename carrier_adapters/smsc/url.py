"""An operator's SMS gateway as one URL: ``<protocol>://<login>:<secret>@host:port?options``.

``cmpp://900001:secret@ismg.example:7890?version=3.0&service_id=MBK&src_id=106900001&tps=200``.
The login and secret are percent-decoded; the port defaults to the protocol's customary one
(CMPP 7890, SGIP 8801, SMGP 8890, SMPP 2775). Options every protocol shares set the channel:
``window`` (requests in flight per connection, default 16), ``connections`` (default 2), ``tps``
(the operator's rate per process, default 200), ``heartbeat`` (seconds of silence before a
keep-alive, default 30). Every other option belongs to the protocol, which refuses the ones it
does not know. Error messages never repeat the URL: it holds the secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from urllib.parse import parse_qsl, unquote, urlsplit

from carrier_adapters.smsc.channel import ChannelSettings

__all__ = ["DEFAULT_PORTS", "SmscUrl", "parse_smsc_url"]

DEFAULT_PORTS = MappingProxyType({"cmpp": 7890, "sgip": 8801, "smgp": 8890, "smpp": 2775})
"""The protocols an SMS URL may name, with their customary ports."""


@dataclass(frozen=True, slots=True)
class SmscUrl:
    """A parsed SMS gateway URL; ``options`` are the protocol's own (see the module docstring)."""

    protocol: str
    login: str
    secret: str = field(repr=False)
    channel: ChannelSettings
    options: Mapping[str, str]

    @property
    def redacted(self) -> str:
        """The URL without its secret, for logs and ``gateway up``'s banner."""
        return f"{self.protocol}://{self.login}:***@{self.channel.host}:{self.channel.port}"


def parse_smsc_url(url: str) -> SmscUrl:
    """Parse ``url``; :class:`ValueError` names the part that is wrong, never the secret."""
    parts = urlsplit(url.strip())
    protocol = parts.scheme.lower()
    if protocol not in DEFAULT_PORTS:
        raise ValueError(f"an SMS gateway URL starts with one of {', '.join(DEFAULT_PORTS)}://")
    try:
        port = parts.port or DEFAULT_PORTS[protocol]
    except ValueError:
        raise ValueError(f"the {protocol} URL's port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"the {protocol} URL names no host")
    if not parts.username or parts.password is None:
        raise ValueError(f"the {protocol} URL needs <login>:<secret>@ before the host")
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    channel = ChannelSettings(parts.hostname, port)
    session = channel.session
    try:
        if "window" in options:
            session = replace(session, window=int(options.pop("window")))
        if "heartbeat" in options:
            session = replace(session, heartbeat_interval=float(options.pop("heartbeat")))
        if "connections" in options:
            channel = replace(channel, connections=int(options.pop("connections")))
        if "tps" in options:
            channel = replace(channel, tps=float(options.pop("tps")))
    except ValueError:
        raise ValueError(
            f"the {protocol} URL's window, connections, tps and heartbeat must be numbers"
        ) from None
    if session.window < 1 or channel.connections < 1 or channel.tps <= 0 or session.heartbeat_interval <= 0:
        raise ValueError(f"the {protocol} URL's window, connections, tps and heartbeat must be positive")
    return SmscUrl(
        protocol=protocol,
        login=unquote(parts.username),
        secret=unquote(parts.password),
        channel=replace(channel, session=session, min_tps=min(channel.min_tps, channel.tps)),
        options=MappingProxyType(options),
    )
