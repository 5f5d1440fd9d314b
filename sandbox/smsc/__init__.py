"""The operators' SMS gateways over their binary protocols, each on its own TCP port
(``docs/operator-dialects.md``, "SMS over the operators' binary protocols"): China Mobile's CMPP
ISMG, China Unicom's SGIP SMG, China Telecom's SMGP SMGW and the international SMPP SMSC.

:class:`SmscServers` builds one :class:`~sandbox.smsc.gateway.Smsc` per served operator from the
sandbox configuration, starts and stops them with the application, and describes where they listen
(and, for SGIP, which SP listener the SMG dials).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Final, NamedTuple

from sandbox.clock import Clock
from sandbox.config import SandboxConfig, SmscOperator, parse_address
from sandbox.sms import SmsCenter
from sandbox.smsc.cmpp import CMPP
from sandbox.smsc.gateway import ProtocolSpec, Smsc, Timings
from sandbox.smsc.outbox import Deliveries
from sandbox.smsc.sgip import Sgip
from sandbox.smsc.sgip_dialer import SgipDialer
from sandbox.smsc.smgp import SMGP
from sandbox.smsc.smpp import SMPP
from sandbox.state import SandboxState

__all__ = ["Smsc", "SmscServers"]


class _Served(NamedTuple):
    spec: ProtocolSpec
    port: int
    resend_after: float
    heartbeat_after: float | None


_RESENDS: Final = 3
_HEARTBEAT_MISSES: Final = 3


def _served(config: SandboxConfig, sgip: Sgip) -> Mapping[SmscOperator, _Served]:
    """Each served operator's protocol, port, ``DELIVER`` answer wait and idle heartbeat (the
    protocols' own unless the configuration shortens them)."""
    resend, heartbeat = config.smsc_resend_after, config.smsc_heartbeat_after
    return {
        "cmcc": _Served(CMPP, config.cmpp_port, resend or 60.0, heartbeat or 180.0),
        "cucc": _Served(sgip, config.sgip_port, resend or 30.0, None),
        "ctcc": _Served(SMGP, config.smgp_port, resend or 5.0, None),
        "intl": _Served(SMPP, config.smpp_port, resend or 5.0, heartbeat or 60.0),
    }


class SmscServers:
    """The sandbox's SMS gateways, one per operator."""

    def __init__(
        self, *, config: SandboxConfig, state: SandboxState, center: SmsCenter, clock: Clock
    ) -> None:
        self._host = config.smsc_host
        self._ports: dict[SmscOperator, int] = {}
        self._gateways: dict[SmscOperator, Smsc] = {}
        sgip = Sgip(clock)
        listener = None if config.sgip_sp_listener is None else parse_address(config.sgip_sp_listener)
        dialers: list[SgipDialer] = []

        def dial(smsc: Smsc) -> Deliveries:
            dialer = SgipDialer(
                smsc,
                sgip,
                listener=listener,
                answer_wait=config.smsc_resend_after or 30.0,
                retry_delays=config.callback_retry_delays,
                idle=config.smsc_heartbeat_after or 5.0,
            )
            dialers.append(dialer)
            return dialer

        for operator, served in _served(config, sgip).items():
            deliveries: Callable[[Smsc], Deliveries] | None = dial if operator == "cucc" else None
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
                deliveries=deliveries,
            )
        self._dialer = dialers[0]

    def __iter__(self) -> Iterator[SmscOperator]:
        return iter(self._gateways)

    def __getitem__(self, operator: SmscOperator) -> Smsc:
        return self._gateways[operator]

    @property
    def host(self) -> str:
        """The address every gateway listens on."""
        return self._host

    def set_sgip_listener(self, address: tuple[str, int] | None) -> None:
        """Make the SGIP SMG dial the SP's listener at ``address`` (None: hold reports and MO)."""
        self._dialer.listener = address
        self._dialer.wake()

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
        ``accessNumber`` (never the secret); SGIP also ``corpId`` and ``spListener`` (``host:port``
        the SMG dials, or None)."""
        views: dict[str, Mapping[str, object]] = {}
        for operator, gateway in self._gateways.items():
            view: dict[str, object] = {
                "protocol": gateway.spec.name,
                "host": self._host,
                "port": gateway.port,
                "login": gateway.account.login,
                "accessNumber": gateway.account.access_number,
            }
            if operator == "cucc":
                listener = self._dialer.listener
                view["corpId"] = gateway.account.corp_id
                view["spListener"] = None if listener is None else _address(*listener)
            views[operator] = view
        return MappingProxyType(views)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
