"""The benchmark baseline's line-query routes, against the sandbox and a fake China Mobile operator."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bench.passthrough import (
    Refusal,
    Upstream,
    beijing_systemtime,
    history_swapped,
    line_query_request,
    make_app,
    parse_beijing_systemtime,
)
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
    body = line_query_request(upstream, "13800000001", msg_id="ab" * 16, now=NOW)
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


async def test_login_check_answers_both_histories(servers: tuple[str, str]) -> None:
    """The evaluation reports a SIM change and a device change within 240 hours independently; lines
    activated 30 days ago report neither; an unserved number is 404; a missing deviceId is 400."""
    sandbox_url, baseline_url = servers
    two_days_ago = (NOW - dt.timedelta(days=2)).isoformat()
    lines = {
        "+8613800000011": ({}, (False, False)),
        "+8613800000012": ({"simChangedAt": two_days_ago}, (True, False)),
        "+8613800000013": ({"deviceChangedAt": two_days_ago}, (False, True)),
        "+8613800000014": ({"simChangedAt": two_days_ago, "deviceChangedAt": two_days_ago}, (True, True)),
    }
    async with aiohttp.ClientSession() as session:
        for serial, (number, (extra, _)) in enumerate(lines.items()):
            record = {
                "phoneNumber": number,
                "operator": "cmcc",
                "imei": f"35209900000{serial:03d}" + "0",
                "activatedAt": (NOW - dt.timedelta(days=30)).isoformat(),
            }
            async with session.post(f"{sandbox_url}/sandbox/subscribers", json=record | extra) as response:
                assert response.status == 201, await response.text()
    evaluate = f"{baseline_url}/login-check/v1/evaluate"
    for number, (_, (sim, device)) in lines.items():
        answer = await _post(evaluate, {"phoneNumber": number, "deviceId": "handset-1"})
        assert answer == (200, {"simSwapped": sim, "deviceSwapped": device})
    assert (await _post(evaluate, {"phoneNumber": "+8613899999999", "deviceId": "d"}))[0] == 404
    assert (await _post(evaluate, {"phoneNumber": "+8613800000011"}))[0] == 400
    assert (await _post(evaluate, {"phoneNumber": "+8613800000011", "deviceId": ""}))[0] == 400
    assert (await _post(evaluate, ["+8613800000011"]))[0] == 400


Handler = Callable[[str, dict[str, Any]], Awaitable[web.StreamResponse]]


@pytest.fixture
async def fake_operator() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Starts a fake cmcc operator answering both history queries with a handler; yields the
    baseline URL forwarding to it."""
    started: list[TestServer] = []

    async def start(handler: Handler) -> str:
        async def history(request: web.Request) -> web.StreamResponse:
            return await handler(request.path.rsplit("/", 1)[1], await request.json())

        operator = web.Application()
        operator.router.add_post("/cmcc/openapi/rs/simChangeQuery", history)
        operator.router.add_post("/cmcc/openapi/rs/deviceChangeQuery", history)
        operator_server = TestServer(operator, host="127.0.0.1")
        await operator_server.start_server()
        started.append(operator_server)
        upstream = Upstream(str(operator_server.make_url("/cmcc")), "123456789012", "k" * 32)
        baseline = TestServer(make_app(upstream), host="127.0.0.1")
        await baseline.start_server()
        started.append(baseline)
        return str(baseline.make_url("/login-check/v1/evaluate"))

    try:
        yield start
    finally:
        for server in reversed(started):
            await server.close()


def _history_answer(query: dict[str, Any], code: str, change_time: str | None = None) -> web.Response:
    body: dict[str, str] = {"retentionHours": "2160"}
    if change_time is not None:
        body["changeTime"] = change_time
    header = {"resultCode": code, "msgId": query["header"]["msgId"]}
    return web.json_response({"header": header, "body": body})


async def test_login_check_sends_both_queries_at_once(
    fake_operator: Callable[[Handler], Awaitable[str]],
) -> None:
    """The two history queries are in flight together: an operator that answers neither until it has
    seen both still gets the evaluation answered, each query signed for the asked number."""
    arrived: dict[str, dict[str, Any]] = {}
    both = asyncio.Event()

    async def handler(kind: str, query: dict[str, Any]) -> web.StreamResponse:
        arrived[kind] = query
        if len(arrived) == 2:
            both.set()
        await asyncio.wait_for(both.wait(), timeout=2.0)
        if kind == "simChangeQuery":
            return _history_answer(query, "001")
        return _history_answer(
            query, "000", beijing_systemtime(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )

    url = await fake_operator(handler)
    answer = await _post(url, {"phoneNumber": "+8613800000001", "deviceId": "d-1"})
    assert answer == (200, {"simSwapped": False, "deviceSwapped": True})
    assert set(arrived) == {"simChangeQuery", "deviceChangeQuery"}
    assert {query["body"]["msisdn"] for query in arrived.values()} == {"13800000001"}


@pytest.mark.parametrize(
    ("sim", "device", "expected"),
    [
        (("201", None), ("201", None), 404),
        (("000", "garbled"), ("001", None), 502),
        (("001", None), ("999", None), 502),
        (("002", None), ("000", None), 502),
    ],
)
async def test_login_check_refuses_unusable_operator_answers(
    fake_operator: Callable[[Handler], Awaitable[str]],
    sim: tuple[str, str | None],
    device: tuple[str, str | None],
    expected: int,
) -> None:
    """An unserved number is 404; a malformed changeTime, an unknown code or a disclosure without a
    date in either history is 502."""

    async def handler(kind: str, query: dict[str, Any]) -> web.StreamResponse:
        code, change_time = sim if kind == "simChangeQuery" else device
        return _history_answer(query, code, change_time)

    url = await fake_operator(handler)
    status, _ = await _post(url, {"phoneNumber": "+8613800000001", "deviceId": "d-1"})
    assert status == expected


async def test_login_check_is_502_when_the_operator_fails(
    fake_operator: Callable[[Handler], Awaitable[str]],
) -> None:
    """An operator answering HTTP 500 on one history makes the evaluation 502."""

    async def handler(kind: str, query: dict[str, Any]) -> web.StreamResponse:
        if kind == "deviceChangeQuery":
            return web.Response(status=500)
        return _history_answer(query, "002")

    url = await fake_operator(handler)
    assert (await _post(url, {"phoneNumber": "+8613800000001", "deviceId": "d-1"}))[0] == 502


def test_history_verdict_reads_codes_and_age() -> None:
    """``000`` compares changeTime with maxAge, ``001``/``002`` are not swapped, ``201`` refuses 404."""
    now = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)

    def answer(code: str, at: dt.datetime | None = None) -> dict[str, Any]:
        body = {"changeTime": beijing_systemtime(at)} if at is not None else {}
        return {"header": {"resultCode": code}, "body": body}

    assert history_swapped(answer("000", now - dt.timedelta(hours=239)), 240, now) is True
    assert history_swapped(answer("000", now - dt.timedelta(hours=241)), 240, now) is False
    assert history_swapped(answer("001"), 240, now) is False
    assert history_swapped(answer("002"), 240, now) is False
    with pytest.raises(Refusal) as not_served:
        history_swapped(answer("201"), 240, now)
    assert not_served.value.status == 404
    with pytest.raises(Refusal) as unusable:
        history_swapped(None, 240, now)
    assert unusable.value.status == 502
