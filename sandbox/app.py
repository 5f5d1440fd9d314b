"""The sandbox application: the control API and the three operators on one ``aiohttp`` app."""

from __future__ import annotations

from aiohttp import web

from sandbox.appkeys import CLOCK, CONFIG, SMS, STATE
from sandbox.callbacks import CallbackPoster
from sandbox.clock import Clock, SystemClock
from sandbox.config import SandboxConfig
from sandbox.control import add_control_routes
from sandbox.errors import error_middleware
from sandbox.faults import faults_middleware
from sandbox.operators import add_operator_routes
from sandbox.sms import SmsCenter
from sandbox.state import SandboxState

__all__ = ["create_sandbox_app"]


def create_sandbox_app(config: SandboxConfig, *, clock: Clock | None = None) -> web.Application:
    """A fresh sandbox with empty state.

    ``clock`` (default the wall clock) is the operators' time: token lifetimes, the ±300 s request
    timestamp windows, default history dates and response timestamps all read it. A test that moves
    it forward should move its callers' clock too, as synchronised hosts would. SMS callbacks go to
    ``config.callback_base_url`` (none when it is None); pending ones are given up at cleanup.
    """
    clock = clock or SystemClock()
    state = SandboxState()
    poster = CallbackPoster(
        config.callback_base_url, delay=config.report_delay, retry_delays=config.callback_retry_delays
    )
    sms = SmsCenter(state=state, clock=clock, poster=poster)
    app = web.Application(middlewares=[error_middleware, faults_middleware(state)])
    app[STATE] = state
    app[CONFIG] = config
    app[CLOCK] = clock
    app[SMS] = sms

    async def close_poster(_: web.Application) -> None:
        await poster.close()

    app.on_cleanup.append(close_poster)
    add_control_routes(app)
    add_operator_routes(app, state=state, config=config, clock=clock, sms=sms)
    return app
