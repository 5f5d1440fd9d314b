"""The CAMARA services of one gateway process, built once by the runtime."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from carrier_adapters import LineInsight
from gateway.camara.identifiers import LineDirectory
from gateway.camara.kyc import KycMatchService
from gateway.camara.number_verification import NumberVerificationService
from gateway.camara.swap import DEVICE_SWAP, SIM_SWAP, SwapService
from gateway.camara.usage import UsageRecorder
from gateway.clock import Clock
from gateway.replay import ReplayCache

__all__ = ["CamaraServices", "build_camara_services"]


@dataclass(frozen=True, slots=True)
class CamaraServices:
    """One service per CAMARA API."""

    number_verification: NumberVerificationService
    sim_swap: SwapService
    device_swap: SwapService
    kyc_match: KycMatchService


def build_camara_services(
    *,
    operators: Mapping[str, LineInsight],
    replay: ReplayCache,
    recorder: UsageRecorder,
    clock: Clock,
) -> CamaraServices:
    """The CAMARA services over the configured ``operators`` (by operator code)."""
    lines = LineDirectory(operators)
    return CamaraServices(
        number_verification=NumberVerificationService(replay=replay, recorder=recorder, clock=clock),
        sim_swap=SwapService(SIM_SWAP, lines=lines, recorder=recorder, clock=clock),
        device_swap=SwapService(DEVICE_SWAP, lines=lines, recorder=recorder, clock=clock),
        kyc_match=KycMatchService(lines=lines, recorder=recorder),
    )
