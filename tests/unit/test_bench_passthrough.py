"""The benchmark baseline's SIM-history route against the real sandbox China Mobile operator."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bench.passthrough import Upstream, make_app, parse_beijing_systemtime, sim_history_request
from carrier_adapters.cmcc import signing
from sandbox import SandboxConfig, create_sandbox_app

NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
async def servers() -> AsyncIterator[tuple[str, str]]:
    """A sandbox and the pass-through registered with its cmcc app; yields (sandbox URL, baseline URL)."""
    config = SandboxConfig(apps=SandboxConfig.generate().apps)
    sandbox = TestServer(create_sandbox_app(config), host="127.0.0.1")
    await sandbox.start_server()
    sandbox_url = str(sandbox.make_url("")).rstrip("/")
    app = config.apps["cmcc"]
    baseline = TestServer(
        make_app(Upstream(f"{sandbox_url}/cmcc", app.app_id, app.app_key)), host="127.0.0.1"
    )
    await baseline.start_server()
    try:
        yield sandbox_url, str(baseline.make_url("")).rstrip("/")
    finally:
        await baseline.close()
        await sandbox.close()


async def _post(url: str, body: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, await response.json()


def test_query_is_signed_as_the_cmcc_adapter_signs_it() -> None:
    """The baseline's ``simChangeQuery`` envelope carries the adapter's timestamp and HMAC signature."""
    upstream = Upstream("http://operator.invalid/cmcc", "123456789012", "k" * 32)
    body = sim_history_request(upstream, "13800000001", msg_id="ab" * 16, now=NOW)
    header = body["header"]
    assert isinstance(header, dict)
    assert header["timestamp"] == signing.systemtime(NOW)
    assert parse_beijing_systemtime(header["timestamp"]) == signing.parse_systemtime(header["timestamp"])
    assert body["body"] == {
        "msisdn": "13800000001",
        "sign": signing.query_sign(
            app_id="123456789012",
            msg_id="ab" * 16,
            msisdn="13800000001",
            timestamp=header["timestamp"],
            version="1.0",
            app_key="k" * 32,
        ),
    }


async def test_sim_check_answers_from_the_operator_history(servers: tuple[str, str]) -> None:
    """A SIM change 2 days ago is swapped at maxAge 240 but not at 24; an activation 30 days ago is not
    swapped; a number the operator does not serve is 404 and an unreadable body 400."""
    sandbox_url, baseline_url = servers
    async with aiohttp.ClientSession() as session:
        for number, extra in (
            ("+8613800000001", {"simChangedAt": (NOW - dt.timedelta(days=2)).isoformat()}),
            ("+8613800000002", {}),
        ):
            record = {
                "phoneNumber": number,
                "operator": "cmcc",
                "activatedAt": (NOW - dt.timedelta(days=30)).isoformat(),
            }
            async with session.post(f"{sandbox_url}/sandbox/subscribers", json=record | extra) as response:
                assert response.status == 201
    check = f"{baseline_url}/sim-swap/v2/check"
    assert await _post(check, {"phoneNumber": "+8613800000001", "maxAge": 240}) == (200, {"swapped": True})
    assert await _post(check, {"phoneNumber": "+8613800000001", "maxAge": 24}) == (200, {"swapped": False})
    assert await _post(check, {"phoneNumber": "+8613800000002"}) == (200, {"swapped": False})
    assert (await _post(check, {"phoneNumber": "+8613899999999"}))[0] == 404
    assert (await _post(check, {"phoneNumber": "13800000001"}))[0] == 400
    assert (await _post(check, {"phoneNumber": "+8613800000001", "maxAge": "240"}))[0] == 400
