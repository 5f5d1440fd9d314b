"""`gateway worker`'s application and the per-process background-worker switches, on SQLite."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from gateway.crypto import generate_keyring_spec
from gateway.runtime import open_runtime
from gateway.settings import Settings
from gateway.worker import background_workers, create_worker_app
from tests.leaks import SENSITIVE

pytestmark = pytest.mark.integration
OFF = {"push_dispatch_worker": False, "webhook_delivery_worker": False, "sim_swap_poll_worker": False}
TASKS = {
    "push-dispatch": "push_dispatch_worker",
    "webhook-worker-": "webhook_delivery_worker",
    "sim-swap-poller": "sim_swap_poll_worker",
}


def _settings(tmp_path: Path, db: str = "gw", /, **switches: bool) -> Settings:
    admin = secrets.token_urlsafe(16)
    SENSITIVE.add(admin)
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path}/{db}.db",
        "data_keys": generate_keyring_spec(),
        "index_keys": generate_keyring_spec(),
        "admin_token": admin,
        **switches,
    }
    return Settings(**values)


def _running() -> set[str]:
    """The switches whose background task runs in this event loop."""
    names = [task.get_name() for task in asyncio.all_tasks()]
    return {switch for prefix, switch in TASKS.items() for name in names if name.startswith(prefix)}


async def test_the_worker_serves_probes_and_metrics_and_runs_every_background_worker(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    """The worker app answers /healthz, /readyz and (admin) /metrics, no public API, and runs the SMS
    dispatch worker, the webhook delivery worker and the SIM swap poller."""
    settings = _settings(tmp_path)
    client = await aiohttp_client(create_worker_app(settings))
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200
    assert (await client.get("/metrics")).status == 401
    assert settings.admin_token is not None
    admin = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
    assert (await client.get("/metrics", headers=admin)).status == 200
    assert (await client.post("/push/v1/messages", json={})).status == 404
    assert (await client.get("/.well-known/openid-configuration")).status == 404
    assert _running() == set(OFF)


async def test_the_switches_turn_each_background_worker_off(tmp_path: Path) -> None:
    """With the three switches false a runtime (an API-only `serve`) starts no background task; each
    switch alone starts its own worker."""
    async with open_runtime(_settings(tmp_path, **OFF)):
        assert _running() == set()
    for switch in OFF:
        async with open_runtime(_settings(tmp_path, switch, **(OFF | {switch: True}))):
            assert _running() == {switch}


def test_a_worker_with_nothing_to_run_refuses_to_start(tmp_path: Path) -> None:
    """`gateway worker` with every switch false exits at once and names the switches."""
    settings = _settings(tmp_path, **OFF)
    assert background_workers(settings) == []
    with pytest.raises(SystemExit, match="PUSH_DISPATCH_WORKER"):
        create_worker_app(settings)
