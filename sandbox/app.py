"""The sandbox application: the control API and the three operators on one ``aiohttp`` app."""

from __future__ import annotations

from aiohttp import web

from sandbox.appkeys import CLOCK, CONFIG, STATE
from sandbox.clock import Clock, SystemClock
from sandbox.config import SandboxConfig
from sandbox.control import add_control_routes
from sandbox.errors import error_middleware
from sandbox.faults import faults_middleware
from sandbox.operators import add_operator_routes
from sandbox.state import SandboxState

__all__ = ["create_sandbox_app"]


def create_sandbox_app(config: SandboxConfig, *, clock: Clock | None = None) -> web.Application:
    """A fresh sandbox with empty state.

    ``clock`` (default the wall clock) is the operators' time: token lifetimes, the ±300 s request
    timestamp windows, default history dates and response timestamps all read it. A test that moves
    it forward should move its callers' clock too, as synchronised hosts would.
    """
    clock = clock or SystemClock()
    state = SandboxState()
    app = web.Application(middlewares=[error_middleware, faults_middleware(state)])
    app[STATE] = state
    app[CONFIG] = config
    app[CLOCK] = clock
    add_control_routes(app)
    add_operator_routes(app, state=state, config=config, clock=clock)
    return app
