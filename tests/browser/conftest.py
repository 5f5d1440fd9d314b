"""Browser tests: Playwright drives Debian's chromium against a live gateway and sandbox.

The gateway listens on a port chosen before it starts, so ``PUBLIC_URL`` (the links in the SMS)
and the sandbox's callback URL (delivery reports) name it; SMS go through the operators' real
southbound APIs into the sandbox phones' inboxes. The browser is :func:`tests.chromium.launch_chromium`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser, BrowserContext, Geolocation

from gateway.app import create_app
from sandbox import SandboxConfig, create_sandbox_app
from tests.chromium import launch_chromium
from tests.leaks import SENSITIVE
from tests.ports import bound_socket, hand_over
from tests.stack import SettableClock, Stack, stack_settings
from tests.unit.webhooks.support import Receiver

SHANGHAI: Geolocation = {"latitude": 31.2304, "longitude": 121.4737, "accuracy": 15}


@asynccontextmanager
async def open_live(database_url: str, **overrides: Any) -> AsyncIterator[Stack]:
    """Sandbox + gateway on 127.0.0.1 with real SMS delivery to the sandbox phones; ``overrides``
    are settings."""
    with bound_socket() as gateway_socket:
        port = gateway_socket.getsockname()[1]
        gateway_url = f"http://127.0.0.1:{port}"
        apps = SandboxConfig.generate(callback_base_url=gateway_url)
        for app in apps.apps.values():
            SENSITIVE.add(app.app_key)
        clock = SettableClock()
        sandbox = TestServer(create_sandbox_app(apps, clock=clock), host="127.0.0.1")
        await sandbox.start_server()
        sandbox_url = str(sandbox.make_url("")).rstrip("/")
        settings = stack_settings(
            database_url,
            sandbox_url,
            apps,
            **{
                "port": port,
                "public_url": gateway_url,
                "allow_private_webhooks": True,
                "push_dispatch_poll_seconds": 0.05,
                "webhook_poll_interval": 0.1,
                **overrides,
            },
        )
        gateway = TestServer(
            create_app(settings, clock=clock), host="127.0.0.1", socket_factory=hand_over(gateway_socket)
        )
        try:
            await gateway.start_server()
            async with httpx.AsyncClient(timeout=10.0) as http:
                yield Stack(settings, gateway_url, sandbox_url, clock, http, apps)
        finally:
            await gateway.close()
            await sandbox.close()


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Stack]:
    """Sandbox + gateway on 127.0.0.1 with real SMS delivery to the sandbox phones (SQLite)."""
    async with open_live(f"sqlite:///{tmp_path}/browser.db") as stack:
        yield stack


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The tenant's webhook receiver on 127.0.0.1."""
    async with Receiver() as running:
        yield running


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless chromium (:func:`tests.chromium.launch_chromium`)."""
    async with launch_chromium() as launched:
        yield launched


async def phone_context(browser: Browser, stack: Stack, *, geolocation: bool = False) -> BrowserContext:
    """A fresh browser context, with geolocation at Shanghai granted to the gateway when asked."""
    if not geolocation:
        return await browser.new_context(locale="zh-CN")
    context = await browser.new_context(locale="zh-CN", geolocation=SHANGHAI)
    await context.grant_permissions(["geolocation"], origin=stack.gateway_url)
    return context
