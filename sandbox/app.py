"""The sandbox application: the control API and the three operators on one ``aiohttp`` app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from sandbox.appkeys import CLOCK, CONFIG, SMS, SMSC, STATE
from sandbox.bank_idp import add_bank_idp_routes
from sandbox.callbacks import CallbackPoster
from sandbox.card_sms import card_platforms
from sandbox.clock import Clock, SystemClock
from sandbox.config import SandboxConfig
from sandbox.control import add_control_routes
from sandbox.errors import error_middleware
from sandbox.faults import faults_middleware, vendor_faults_middleware
from sandbox.maap import maap_platforms
from sandbox.operators import add_operator_routes
from sandbox.rich_center import RICH, RichCenter
from sandbox.rich_control import add_rich_control_routes
from sandbox.sms import SmsCenter
from sandbox.smsc import SmscServers
from sandbox.state import SandboxState

__all__ = ["create_sandbox_app", "smsc_listeners"]


def create_sandbox_app(config: SandboxConfig, *, clock: Clock | None = None) -> web.Application:
    """A fresh sandbox with empty state.

    ``clock`` (default the wall clock) is the operators' time: token lifetimes, the ±300 s request
    timestamp windows, default history dates and response timestamps all read it. A test that moves
    it forward should move its callers' clock too, as synchronised hosts would. SMS callbacks go to
    ``config.callback_base_url`` (none when it is None); pending ones are given up at cleanup.
    The operators' binary-protocol SMS gateways listen from startup to cleanup on the ports of
    ``config`` (``app[SMSC].view()`` and ``GET /sandbox/smsc`` tell the actual ones).
    """
    clock = clock or SystemClock()
    state = SandboxState()
    poster = CallbackPoster(
        config.callback_base_url, delay=config.report_delay, retry_delays=config.callback_retry_delays
    )
    sms = SmsCenter(state=state, clock=clock, poster=poster)
    app = web.Application(
        middlewares=[error_middleware, faults_middleware(state), vendor_faults_middleware(state)]
    )
    app[STATE] = state
    app[CONFIG] = config
    app[CLOCK] = clock
    app[SMS] = sms
    smsc = SmscServers(config=config, state=state, center=sms, clock=clock)
    app[SMSC] = smsc
    rich = RichCenter(
        state=state,
        clock=clock,
        poster=poster,
        apps={op: (a.app_id, a.app_key) for op, a in config.apps.items()},
    )
    app[RICH] = rich

    async def close_poster(_: web.Application) -> None:
        await poster.close()

    async def run_smsc(_: web.Application) -> AsyncIterator[None]:
        await smsc.start()
        yield
        await smsc.stop()

    app.on_cleanup.append(close_poster)
    app.cleanup_ctx.append(run_smsc)
    add_control_routes(app)
    add_operator_routes(app, state=state, config=config, clock=clock, sms=sms)
    add_bank_idp_routes(app, clock=clock)
    add_rich_control_routes(app)
    for maap in maap_platforms(state=state, center=rich, clock=clock):
        app.router.add_routes(maap.routes())
    for cards in card_platforms(state=state, center=rich, clock=clock):
        app.router.add_routes(cards.routes())
    return app


def smsc_listeners(app: web.Application) -> Mapping[str, Mapping[str, object]]:
    """Where a started sandbox's SMS gateways listen, per operator (as ``GET /sandbox/smsc``)."""
    return app[SMSC].view()
