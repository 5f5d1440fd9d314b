"""Fault injection on the operators' southbound endpoints, observed by real HTTP clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web

from sandbox import SandboxConfig, create_sandbox_app
from tests.clocks import ManualClock
from tests.conftest import LOG_SINK
from tests.ports import bound_socket
from tests.sandbox.conftest import SandboxClient
from tests.sandbox.smsc_client import NO_FAULTS

LOGIN = "/cmcc/unisdk/rsapi/loginTokenValidate"


async def set_faults(client: SandboxClient, operator: str, **faults: object) -> None:
    response = await client.put(f"/sandbox/operators/{operator}/faults", json=faults)
    assert response.status == 200


async def test_error_rate_one_answers_500_html(client: SandboxClient) -> None:
    """With errorRate 1 every southbound request answers HTTP 500 with a non-JSON body."""
    await set_faults(client, "cmcc", errorRate=1)
    response = await client.post(LOGIN, json={})
    assert response.status == 500
    assert response.content_type == "text/html"


async def test_faults_are_per_operator_and_spare_the_control_api(client: SandboxClient) -> None:
    """A fault on one operator leaves the other operators and the control API alone."""
    await set_faults(client, "cmcc", errorRate=1)
    assert (await client.post("/cucc/openapi/netauth/v2/mobile", json={})).status == 200
    assert (await client.get("/sandbox/healthz")).status == 200


async def test_down_drops_the_connection_for_aiohttp(
    client: SandboxClient, caplog: pytest.LogCaptureFixture
) -> None:
    """With down the server closes the connection unanswered, without logging an error."""
    await set_faults(client, "cmcc", down=True)
    with caplog.at_level(logging.DEBUG), pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post(LOGIN, json={})
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/ctcc/openapi/networkauth/getMobile.do"), ("GET", "/ctcc")]
)
async def test_down_drops_the_connection_for_httpx(client: SandboxClient, method: str, path: str) -> None:
    """With down an httpx client sees the server disconnect on any path of the operator, its root included."""
    await set_faults(client, "ctcc", down=True)
    async with httpx.AsyncClient(base_url=str(client.make_url("/"))) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.request(method, path)


async def test_latency_delays_the_answer(client: SandboxClient) -> None:
    """latencyMs delays each southbound answer by at least that long."""
    await set_faults(client, "cucc", latencyMs=150)
    started = time.monotonic()
    response = await client.post("/cucc/openapi/netauth/v2/mobile", json={})
    assert response.status == 200
    assert time.monotonic() - started >= 0.15


def _log_lines_since(start: int) -> list[dict[str, object]]:
    return [json.loads(raw) for raw in LOG_SINK.getvalue()[start:].splitlines() if raw.startswith("{")]


@contextlib.asynccontextmanager
async def _served_as_in_production(app: web.Application) -> AsyncIterator[str]:
    """``app`` on a loopback socket with aiohttp's default runner, which (unlike the test server) lets
    a handler run on after its client disconnected, as ``gateway up`` does."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    with bound_socket() as sock:
        try:
            await web.SockSite(runner, sock).start()
            yield f"http://127.0.0.1:{sock.getsockname()[1]}"
        finally:
            await runner.cleanup()


async def test_latency_outlasting_the_client_is_one_info_line(
    config: SandboxConfig, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that gives up under latencyMs leaves one ``sandbox.client_gone`` line at info level and
    no error or traceback (aiohttp's default runner lets the handler run on, as in ``gateway up``)."""
    async with (
        _served_as_in_production(create_sandbox_app(config, clock=clock)) as root,
        aiohttp.ClientSession(root) as http,
    ):
        assert (await http.put("/sandbox/operators/cmcc/faults", json={"latencyMs": 300})).status == 200
        start = len(LOG_SINK.getvalue())
        with caplog.at_level(logging.DEBUG):
            with pytest.raises(TimeoutError):
                await http.post(LOGIN, json={"token": "t"}, timeout=aiohttp.ClientTimeout(total=0.05))
            await asyncio.sleep(0.5)
        assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
        lines = _log_lines_since(start)
        assert [line["event"] for line in lines if line["level"] != "debug"] == ["sandbox.client_gone"]
        gone = next(line for line in lines if line["event"] == "sandbox.client_gone")
        assert gone | {"timestamp": None} == {
            "event": "sandbox.client_gone",
            "level": "info",
            "operator": "cmcc",
            "method": "POST",
            "route": LOGIN,
            "latency_ms": 300,
            "timestamp": None,
        }
        assert (await http.delete("/sandbox/operators/cmcc/faults")).status == 200
        answered = await http.post(LOGIN, json={}, timeout=aiohttp.ClientTimeout(total=0.2))
        assert answered.status == 200


async def test_clearing_one_operators_faults(client: SandboxClient) -> None:
    """DELETE on an operator's faults puts them back to none and answers the cleared state; the other
    operators keep theirs; an unknown operator is 404."""
    await set_faults(client, "cmcc", down=True, latencyMs=20, deliveryReport="none")
    await set_faults(client, "ctcc", errorRate=1)
    response = await client.delete("/sandbox/operators/cmcc/faults")
    assert response.status == 200
    assert await response.json() == NO_FAULTS
    assert (await client.post(LOGIN, json={})).status == 200
    assert (await (await client.get("/sandbox/operators/ctcc/faults")).json())["errorRate"] == 1.0
    unknown = await client.delete("/sandbox/operators/cmc/faults")
    assert unknown.status == 404
    assert (await unknown.json())["code"] == "NOT_FOUND"


async def test_clearing_every_fault_keeps_the_subscribers(
    client: SandboxClient, subscribe: Callable[..., Awaitable[dict[str, Any]]]
) -> None:
    """DELETE /sandbox/faults clears every operator's faults (204) and keeps subscribers."""
    await subscribe("+8618600186000", "cucc")
    for operator in ("cmcc", "cucc", "ctcc"):
        await set_faults(client, operator, down=True, errorRate=0.5, latencyMs=10, deliveryReport="UNDELIV")
    assert (await client.delete("/sandbox/faults")).status == 204
    for operator in ("cmcc", "cucc", "ctcc"):
        faults = await (await client.get(f"/sandbox/operators/{operator}/faults")).json()
        assert faults == NO_FAULTS
    assert (await client.post(LOGIN, json={})).status == 200
    assert (await client.get("/sandbox/subscribers/+8618600186000")).status == 200
