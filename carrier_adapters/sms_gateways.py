"""An operator's SMS gateway built from its URL: the protocol's dialect behind the shared sessions.

:func:`operator_sms` reads a ``cmpp://``, ``sgip://``, ``smgp://`` or ``smpp://`` URL
(:mod:`carrier_adapters.smsc.url`) and returns an :class:`OperatorSms`: the
:class:`~carrier_adapters.smsc.SmscChannel` that sends (a :class:`~carrier_adapters.SmsChannel`)
and, for SGIP with a ``listen`` option, the :class:`~carrier_adapters.smsc.SmscListener` the
operator's SMG connects to with reports and replies. Reports and replies from either go to
``on_inbound``. :meth:`OperatorSms.start` before use, :meth:`OperatorSms.close` at exit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carrier_adapters.cmpp import dialect as cmpp
from carrier_adapters.sgip import dialect as sgip
from carrier_adapters.smgp import dialect as smgp
from carrier_adapters.smpp import dialect as smpp
from carrier_adapters.smsc import Dialect, InboundSink, SmscChannel, SmscListener
from carrier_adapters.smsc.url import SmscUrl, parse_smsc_url

__all__ = ["OperatorSms", "operator_sms"]

_DIALECTS: dict[str, Callable[..., Callable[[], Dialect[Any, Any]]]] = {
    "cmpp": cmpp.dialect_factory,
    "smgp": smgp.dialect_factory,
    "smpp": smpp.dialect_factory,
}


@dataclass(frozen=True)
class OperatorSms:
    """One operator's SMS over its protocol (see the module docstring)."""

    operator: str
    url: SmscUrl
    channel: SmscChannel
    listener: SmscListener | None = None

    async def start(self) -> None:
        """Start the listener (if any), then the channel's sessions."""
        if self.listener is not None:
            await self.listener.start()
        await self.channel.start()

    async def close(self) -> None:
        """Log the sessions out and stop listening."""
        await self.channel.close()
        if self.listener is not None:
            await self.listener.close()


def operator_sms(
    operator: str,
    url: str,
    *,
    on_inbound: InboundSink,
    now: Callable[[], datetime],
    backoff: Callable[[int], float],
) -> OperatorSms:
    """Build ``operator``'s SMS from ``url``; :class:`ValueError` says what is wrong, never the secret."""
    parsed = parse_smsc_url(url)
    if parsed.protocol != "sgip":
        dialects = _DIALECTS[parsed.protocol](parsed, operator=operator)
        channel = SmscChannel(
            operator, dialects, parsed.channel, on_inbound=on_inbound, now=now, backoff=backoff
        )
        return OperatorSms(operator, parsed, channel)
    counter = sgip.SequenceCounter()
    settings = sgip.channel_settings(parsed)
    dialects = sgip.dialect_factory(parsed, operator=operator, counter=counter)
    channel = SmscChannel(operator, dialects, settings, on_inbound=on_inbound, now=now, backoff=backoff)
    listener = None
    listen = sgip.SgipOptions.from_url(parsed).listen
    if listen is not None:
        listener = SmscListener(
            operator,
            sgip.listening_dialect_factory(parsed, operator=operator, counter=counter),
            host=listen[0],
            port=listen[1],
            settings=settings.session,
            on_inbound=on_inbound,
            now=now,
        )
    return OperatorSms(operator, parsed, channel, listener)
