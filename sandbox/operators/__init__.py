"""The three mock operators' southbound dialects (``docs/operator-dialects.md``), one module each."""

from __future__ import annotations

from aiohttp import web

from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.operators.cmcc import CmccOperator
from sandbox.operators.ctcc import CtccOperator
from sandbox.operators.cucc import CuccOperator
from sandbox.state import SandboxState

__all__ = ["CmccOperator", "CtccOperator", "CuccOperator", "add_operator_routes"]


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
