"""Long-lived TCP sessions to the operators' SMS gateways, for any binary protocol.

:class:`~carrier_adapters.smsc.session.Session` is one logged-in connection with a window of
requests in flight, heartbeats and the peer's requests answered;
:class:`~carrier_adapters.smsc.channel.SmscChannel` keeps several per operator, paces them and
sends whole messages; :class:`~carrier_adapters.smsc.listener.SmscListener` serves operators that
connect to us (SGIP's SMG delivering reports and replies). Each protocol plugs in through a
:class:`~carrier_adapters.smsc.dialect.Dialect` (``carrier_adapters.cmpp``, ``sgip``, ``smgp``,
``smpp``).
"""

from __future__ import annotations

from carrier_adapters.smsc.channel import ChannelSettings, SmscChannel
from carrier_adapters.smsc.dialect import (
    Dialect,
    Inbound,
    ListeningDialect,
    OutboundPart,
    PartReport,
    PduKind,
    SubmitAnswer,
)
from carrier_adapters.smsc.listener import SmscListener
from carrier_adapters.smsc.session import InboundSink, RequestLost, Session, SessionSettings

__all__ = [
    "ChannelSettings",
    "Dialect",
    "Inbound",
    "InboundSink",
    "ListeningDialect",
    "OutboundPart",
    "PartReport",
    "PduKind",
    "RequestLost",
    "Session",
    "SessionSettings",
    "SmscChannel",
    "SmscListener",
    "SubmitAnswer",
]
