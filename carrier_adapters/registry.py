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
from carrier_adapters.cmcc import CmccAdapter
from carrier_adapters.ctcc import CtccAdapter
from carrier_adapters.cucc import CuccAdapter
from carrier_adapters.transport import Transport

__all__ = ["ADAPTER_CLASSES", "build_exchangers", "operator_for_token"]

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
