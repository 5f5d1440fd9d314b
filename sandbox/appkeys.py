"""Every :class:`aiohttp.web.AppKey` of the sandbox application, in one place."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from sandbox.clock import Clock
from sandbox.config import SandboxConfig
from sandbox.sms import SmsCenter
from sandbox.smsc import SmscServers
from sandbox.state import SandboxState

__all__ = ["CLOCK", "CONFIG", "SMS", "SMSC", "STATE"]

STATE: Final = web.AppKey("sandbox_state", SandboxState)
CONFIG: Final = web.AppKey("sandbox_config", SandboxConfig)
CLOCK: Final = web.AppKey("sandbox_clock", Clock)
SMS: Final = web.AppKey("sandbox_sms", SmsCenter)
SMSC: Final = web.AppKey("sandbox_smsc", SmscServers)
