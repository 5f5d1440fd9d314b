"""The three mock operators' southbound dialects (``docs/operator-dialects.md``): identity, line
information and network authorization in one module per operator, SMS in ``<operator>_sms``, and
the H5 token endpoint common to all three."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Protocol

from aiohttp import web

from sandbox.clock import Clock
from sandbox.config import OPERATORS, Operator, SandboxConfig
from sandbox.h5 import H5TokenEndpoint
from sandbox.operators import cmcc, ctcc, cucc
from sandbox.operators.cmcc import CmccOperator
from sandbox.operators.cmcc_sms import CmccSms
from sandbox.operators.ctcc import CtccOperator
from sandbox.operators.ctcc_sms import CtccSms
from sandbox.operators.cucc import CuccOperator
from sandbox.operators.cucc_sms import CuccSms
from sandbox.sms import SmsCenter
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


class _Endpoints(Protocol):
    def routes(self) -> list[web.RouteDef]: ...


def add_operator_routes(
    app: web.Application, *, state: SandboxState, config: SandboxConfig, clock: Clock, sms: SmsCenter
) -> None:
    """Register every operator's southbound routes on ``app``; their SMS dialects register with ``sms``."""
    apps = config.apps
    cucc_operator = CuccOperator(state=state, app=apps["cucc"], clock=clock)
    ctcc_operator = CtccOperator(state=state, app=apps["ctcc"], clock=clock)
    endpoints: tuple[_Endpoints, ...] = (
        CmccOperator(state=state, app=apps["cmcc"], clock=clock),
        cucc_operator,
        ctcc_operator,
        CmccSms(center=sms, state=state, app=apps["cmcc"], clock=clock),
        CuccSms(center=sms, operator=cucc_operator, app=apps["cucc"], clock=clock),
        CtccSms(center=sms, operator=ctcc_operator, state=state, app=apps["ctcc"], clock=clock),
        *(H5TokenEndpoint(code, state=state, app=apps[code], clock=clock) for code in OPERATORS),
    )
    for endpoint in endpoints:
        app.router.add_routes(endpoint.routes())
