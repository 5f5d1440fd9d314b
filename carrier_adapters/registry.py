"""Which adapter class serves which operator, and the operators built from configuration.

An explicit, in-repo table (``aesthetics.md`` section 8.2): code (the adapter class) is keyed by
operator code, instance settings come from :class:`~carrier_adapters.base.OperatorConfig`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType

from carrier_adapters._adapter import OperatorAdapter
from carrier_adapters.base import OneTapExchanger, Operator, OperatorConfig
from carrier_adapters.cards import CardAccountConfig, CardClient
from carrier_adapters.cmcc import CmccAdapter
from carrier_adapters.ctcc import CtccAdapter
from carrier_adapters.cucc import CuccAdapter
from carrier_adapters.maap import ChatbotConfig, MaapClient
from carrier_adapters.transport import Transport

__all__ = [
    "ADAPTER_CLASSES",
    "build_card_clients",
    "build_exchangers",
    "build_maap_clients",
    "operator_for_token",
]

ADAPTER_CLASSES: Mapping[str, type[OperatorAdapter]] = MappingProxyType(
    {"cmcc": CmccAdapter, "cucc": CuccAdapter, "ctcc": CtccAdapter}
)


def build_exchangers(
    configs: Iterable[OperatorConfig],
    transport: Transport,
    *,
    clock: Callable[[], datetime] | None = None,
) -> dict[str, Operator]:
    """One adapter per configured operator, all calling through ``transport``.

    Each adapter is a whole :class:`~carrier_adapters.base.Operator` (one-tap exchanges, line
    insight and network authentication) and a :class:`~carrier_adapters.base.SmsChannel`.

    ``clock`` (timezone-aware) stamps the operators' signed timestamps; default: the system clock.

    :raises ValueError: on an unknown operator code, an operator configured twice or a malformed
        base URL.
    """
    exchangers: dict[str, Operator] = {}
    for config in configs:
        adapter_class = ADAPTER_CLASSES.get(config.operator)
        if adapter_class is None:
            raise ValueError(f"no adapter for operator {config.operator!r}")
        if config.operator in exchangers:
            raise ValueError(f"operator {config.operator!r} is configured twice")
        exchangers[config.operator] = adapter_class(config, transport, clock=clock)
    return exchangers


def operator_for_token(token: str, exchangers: Mapping[str, OneTapExchanger]) -> str | None:
    """The operator whose token shape ``token`` has, among ``exchangers``; ``None`` if none does."""
    for operator, exchanger in exchangers.items():
        if exchanger.recognises(token):
            return operator
    return None


def build_maap_clients(
    configs: Iterable[ChatbotConfig],
    transport: Transport,
    *,
    clock: Callable[[], datetime] | None = None,
) -> dict[tuple[str, str], MaapClient]:
    """One 5G-message client per configured chatbot, keyed by ``(operator, bot_id)``.

    :raises ValueError: a chatbot configured twice, or a malformed base URL.
    """
    clients: dict[tuple[str, str], MaapClient] = {}
    for config in configs:
        key = (config.operator, config.bot_id)
        if key in clients:
            raise ValueError(f"chatbot {config.bot_id!r} of {config.operator!r} is configured twice")
        clients[key] = MaapClient(config, transport, clock=clock)
    return clients


def build_card_clients(
    configs: Iterable[CardAccountConfig],
    transport: Transport,
    *,
    clock: Callable[[], datetime] | None = None,
) -> dict[tuple[str, str], CardClient]:
    """One card-SMS client per configured vendor account, keyed by ``(vendor, app_id)``.

    :raises ValueError: an account configured twice at a vendor, or a malformed base URL.
    """
    clients: dict[tuple[str, str], CardClient] = {}
    for config in configs:
        key = (config.vendor, config.app_id)
        if key in clients:
            raise ValueError(f"card account {config.app_id!r} at {config.vendor!r} is configured twice")
        clients[key] = CardClient(config, transport, clock=clock)
    return clients
