"""Mock China Mobile, China Unicom and China Telecom on one port, with a control API to drive them.

The sandbox is written from ``docs/operator-dialects.md`` and never imports the gateway or its
carrier adapters, so a disagreement between the two sides shows up as a failing test.
"""

from __future__ import annotations

from sandbox.app import create_sandbox_app, smsc_listeners
from sandbox.clock import Clock, SystemClock
from sandbox.config import AppCredentials, SandboxConfig, SmscAccount

__all__ = [
    "AppCredentials",
    "Clock",
    "SandboxConfig",
    "SmscAccount",
    "SystemClock",
    "create_sandbox_app",
    "smsc_listeners",
]
