"""The operators' SMS gateways over their binary protocols, each on its own TCP port
(``docs/operator-dialects.md``, "SMS over the operators' binary protocols"): China Mobile's CMPP
ISMG and China Telecom's SMGP SMGW.

:class:`SmscServers` builds one :class:`~sandbox.smsc.gateway.Smsc` per served operator from the
sandbox configuration, starts and stops them with the application, and describes where they listen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

from sandbox.clock import Clock
from sandbox.config import Operator, SandboxConfig
from sandbox.sms import SmsCenter
from sandbox.smsc.cmpp import CMPP
from sandbox.smsc.gateway import ProtocolSpec, Smsc, Timings
from sandbox.smsc.smgp import SMGP
from sandbox.state import SandboxState

__all__ = ["Smsc", "SmscServers"]


class _Served(NamedTuple):
    spec: ProtocolSpec
    port: int
    resend_after: float
    heartbeat_after: float | None


_RESENDS: Final = 3
_HEARTBEAT_MISSES: Final = 3


def _served(config: SandboxConfig) -> Mapping[Operator, _Served]:
    """Each served operator's protocol, port, ``DELIVER`` answer wait and idle heartbeat (the
    protocols' own unless the configuration shortens them)."""
    return {
        "cmcc": _Served(
            CMPP, config.cmpp_port, config.smsc_resend_after or 60.0, config.smsc_heartbeat_after or 180.0
        ),
        "ctcc": _Served(SMGP, config.smgp_port, config.smsc_resend_after or 5.0, None),
    }


class SmscServers:
    """The sandbox's SMS gateways, one per operator that has one so far."""

    def __init__(
        self, *, config: SandboxConfig, state: SandboxState, center: SmsCenter, clock: Clock
    ) -> None:
        self._host = config.smsc_host
        self._ports: dict[Operator, int] = {}
        self._gateways: dict[Operator, Smsc] = {}
        for operator, served in _served(config).items():
            self._ports[operator] = served.port
            self._gateways[operator] = Smsc(
                operator=operator,
                spec=served.spec,
                account=config.smsc_accounts[operator],
                state=state,
                center=center,
                clock=clock,
                timings=Timings(
                    resend_after=served.resend_after,
                    resends=_RESENDS,
                    heartbeat_after=served.heartbeat_after,
                    heartbeat_misses=_HEARTBEAT_MISSES,
                    report_delay=config.report_delay,
                ),
            )

    def __iter__(self) -> Iterator[Operator]:
        return iter(self._gateways)

    def __getitem__(self, operator: Operator) -> Smsc:
        return self._gateways[operator]

    @property
    def host(self) -> str:
        """The address every gateway listens on."""
        return self._host

    async def start(self) -> None:
        """Listen on every gateway's port."""
        for operator, gateway in self._gateways.items():
            await gateway.start(self._host, self._ports[operator])

    async def stop(self) -> None:
        """Close every gateway and its connections."""
        for gateway in self._gateways.values():
            await gateway.stop()

    def view(self) -> Mapping[str, Mapping[str, object]]:
        """Per operator: ``protocol``, ``host``, the actual ``port``, the SP ``login`` and
        ``accessNumber`` (never the secret)."""
        return MappingProxyType(
            {
                operator: {
                    "protocol": gateway.spec.name,
                    "host": self._host,
                    "port": gateway.port,
                    "login": gateway.account.login,
                    "accessNumber": gateway.account.access_number,
                }
                for operator, gateway in self._gateways.items()
            }
        )
