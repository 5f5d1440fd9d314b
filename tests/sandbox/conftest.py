"""Fixtures for the sandbox tests: a settable clock, fresh credentials and a sandbox on a real socket."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from sandbox import SandboxConfig, create_sandbox_app

SandboxClient = TestClient[web.Request, web.Application]


class SettableClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> SettableClock:
    """The sandbox's clock, frozen at a fixed instant until a test advances it."""
    return SettableClock(datetime(2026, 3, 2, 1, 30, 15, 250000, tzinfo=UTC))


@pytest.fixture
def config() -> SandboxConfig:
    """Fresh random credentials for the three operators."""
    return SandboxConfig.generate()


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, config: SandboxConfig, clock: SettableClock) -> SandboxClient:
    """A client of a fresh sandbox served on a real loopback socket."""
    return await aiohttp_client(create_sandbox_app(config, clock=clock))


@pytest.fixture
def subscribe(client: SandboxClient) -> Callable[..., Awaitable[dict[str, Any]]]:
    """Register a subscriber through the control API and return the stored record."""

    async def subscribe(phone_number: str, operator: str, **fields: Any) -> dict[str, Any]:
        response = await client.post(
            "/sandbox/subscribers", json={"phoneNumber": phone_number, "operator": operator, **fields}
        )
        assert response.status == 201, await response.text()
        record: dict[str, Any] = await response.json()
        return record

    return subscribe


@pytest.fixture
def one_tap_token(client: SandboxClient) -> Callable[..., Awaitable[str]]:
    """Mint a token through the control API, as the operator SDK on the phone would."""

    async def one_tap_token(phone_number: str, purpose: str, **fields: Any) -> str:
        response = await client.post(
            f"/sandbox/devices/{phone_number}/one-tap-token", json={"purpose": purpose, **fields}
        )
        assert response.status == 200, await response.text()
        token: str = (await response.json())["token"]
        return token

    return one_tap_token
