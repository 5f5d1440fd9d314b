"""Fault injection on the operators' southbound endpoints, observed by real HTTP clients."""

from __future__ import annotations

import logging
import time

import aiohttp
import httpx
import pytest

LOGIN = "/cmcc/unisdk/rsapi/loginTokenValidate"


async def set_faults(client, operator: str, **faults: object) -> None:
    response = await client.put(f"/sandbox/operators/{operator}/faults", json=faults)
    assert response.status == 200


async def test_error_rate_one_answers_500_html(client):
    """With errorRate 1 every southbound request answers HTTP 500 with a non-JSON body."""
    await set_faults(client, "cmcc", errorRate=1)
    response = await client.post(LOGIN, json={})
    assert response.status == 500
    assert response.content_type == "text/html"


async def test_faults_are_per_operator_and_spare_the_control_api(client):
    """A fault on one operator leaves the other operators and the control API alone."""
    await set_faults(client, "cmcc", errorRate=1)
    assert (await client.post("/cucc/openapi/netauth/v2/mobile", json={})).status == 200
    assert (await client.get("/sandbox/healthz")).status == 200


async def test_down_drops_the_connection_for_aiohttp(client, caplog):
    """With down the server closes the connection unanswered, without logging an error."""
    await set_faults(client, "cmcc", down=True)
    with caplog.at_level(logging.DEBUG), pytest.raises(aiohttp.ServerDisconnectedError):
        await client.post(LOGIN, json={})
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


@pytest.mark.parametrize(
    ("method", "path"), [("POST", "/ctcc/openapi/networkauth/getMobile.do"), ("GET", "/ctcc")]
)
async def test_down_drops_the_connection_for_httpx(client, method, path):
    """With down an httpx client sees the server disconnect on any path of the operator, its root included."""
    await set_faults(client, "ctcc", down=True)
    async with httpx.AsyncClient(base_url=str(client.make_url("/"))) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.request(method, path)


async def test_latency_delays_the_answer(client):
    """latencyMs delays each southbound answer by at least that long."""
    await set_faults(client, "cucc", latencyMs=150)
    started = time.monotonic()
    response = await client.post("/cucc/openapi/netauth/v2/mobile", json={})
    assert response.status == 200
    assert time.monotonic() - started >= 0.15
