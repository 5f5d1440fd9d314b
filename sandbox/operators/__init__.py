"""The three mock operators' southbound dialects (``docs/operator-dialects.md``), one module each."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from aiohttp import web

from sandbox.clock import Clock
from sandbox.config import Operator, SandboxConfig
from sandbox.operators import cmcc, ctcc, cucc
from sandbox.operators.cmcc import CmccOperator
from sandbox.operators.ctcc import CtccOperator
from sandbox.operators.cucc import CuccOperator
from sandbox.state import SandboxState

__all__ = [
    "HEADER_ENRICHMENT",
    "CmccOperator",
    "CtccOperator",
    "CuccOperator",
    "HeaderEnrichment",
    "add_operator_routes",
]


@dataclass(frozen=True, slots=True)
class HeaderEnrichment:
    """The header an operator's data network adds to requests for its authorization endpoint."""

    path: str
    header: str


HEADER_ENRICHMENT: Final[Mapping[Operator, HeaderEnrichment]] = MappingProxyType(
    {
        "cmcc": HeaderEnrichment(cmcc.AUTHORIZE_PATH, cmcc.ENRICHMENT_HEADER),
        "cucc": HeaderEnrichment(cucc.AUTHORIZE_PATH, cucc.ENRICHMENT_HEADER),
        "ctcc": HeaderEnrichment(ctcc.AUTHORIZE_PATH, ctcc.ENRICHMENT_HEADER),
    }
)


def add_operator_routes(
    app: web.Application, *, state: SandboxState, config: SandboxConfig, clock: Clock
) -> None:
    """Register every operator's southbound routes on ``app``."""
    for operator in (
        CmccOperator(state=state, app=config.apps["cmcc"], clock=clock),
        CuccOperator(state=state, app=config.apps["cucc"], clock=clock),
        CtccOperator(state=state, app=config.apps["ctcc"], clock=clock),
    ):
        app.router.add_routes(operator.routes())
