"""Errors at the edges of a live gateway: requests aiohttp refuses before the application runs,
405 with Allow, the Server header, an unreachable Redis, and messages that say what is expected."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from gateway.app import create_app
from gateway.serving import listen
from tests.conftest import LOG_SINK
from tests.ports import free_port
from tests.stack import Stack, open_stack

pytestmark = pytest.mark.integration

MARK = b"zq7Echo"
PURPOSE = "dpv:FraudPreventionAndDetection"
"""Put into every malformed part: no byte of it may come back."""

MALFORMED = {
    "method not a token": b"GET(" + MARK + b") / HTTP/1.1\r\nHost: gw\r\n\r\n",
    "header name with a delimiter": b"GET /healthz HTTP/1.1\r\nHost: gw\r\nX-(" + MARK + b"): 1\r\n\r\n",
    "header value with a control byte": b"GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Val: a\x01"
    + MARK
    + b"\r\n\r\n",
    "header line without a colon": b"GET /healthz HTTP/1.1\r\nHost: gw\r\nI am " + MARK + b"\r\n\r\n",
    "header name not UTF-8": b"GET /healthz HTTP/1.1\r\nHost: gw\r\n\xff" + MARK + b": 1\r\n\r\n",
    "header longer than 8190 bytes": b"GET /healthz HTTP/1.1\r\nX-Big: " + MARK + b"A" * 9000 + b"\r\n\r\n",
    "request line longer than 8190 bytes": b"GET /" + MARK + b"a" * 9000 + b" HTTP/1.1\r\n\r\n",
    "more than 128 headers": b"GET /healthz HTTP/1.1\r\n"
    + b"".join(b"X-" + MARK + b"-%d: 1\r\n" % n for n in range(200))
    + b"\r\n",
    "HTTP version 9.9": b"GET /healthz HTTP/9.9" + MARK + b"\r\n\r\n",
    "not HTTP": b"GET /healthz HTTX/" + MARK + b"\r\n\r\n",
    "Content-Length with Transfer-Encoding": b"POST /one-tap/v1/login HTTP/1.1\r\nHost: gw\r\n"
    b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\nX-Note: " + MARK + b"\r\n\r\n0\r\n\r\n",
    "Content-Length not a number": b"POST /one-tap/v1/login HTTP/1.1\r\nHost: gw\r\nContent-Length: 1"
    + MARK
    + b"\r\n\r\n",
    "chunk size not hexadecimal": b"POST /one-tap/v1/login HTTP/1.1\r\nHost: gw\r\n"
    b"Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n" + MARK + b"\r\n",
}


async def _exchange(port: int, raw: bytes) -> tuple[bytes, dict[str, str], bytes]:
    """Send ``raw`` on a fresh connection; the status line, headers and body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = {
        name.decode().lower(): value.decode() for name, _, value in (ln.partition(b": ") for ln in lines)
    }
    return status, headers, body


@pytest.fixture
async def served(sqlite_stack: Stack) -> AsyncIterator[int]:
    """The port of a second gateway process on the stack's settings, served as production serves it."""
    runner = web.AppRunner(create_app(sqlite_stack.settings))
    await runner.setup()
    listener = await listen(runner, "127.0.0.1", 0)
    try:
        yield listener.sockets[0].getsockname()[1]
    finally:
        listener.close()
        await runner.cleanup()
        await listener.wait_closed()


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
async def test_refused_requests_get_the_contract_error_and_no_echo(served: int, raw: bytes) -> None:
    """Bytes aiohttp refuses before the application runs get 400 INVALID_ARGUMENT in the contract's
    JSON body with a correlator and the plain Server token; nothing of the request comes back."""
    status, headers, body = await _exchange(served, raw)
    assert status.split(b" ")[1] == b"400", status
    assert headers["content-type"].startswith("application/json")
    assert headers["server"] == "carrier-gateway" and headers["x-correlator"]
    error = json.loads(body)
    assert (
        error["status"] == 400 and error["code"] == "INVALID_ARGUMENT" and isinstance(error["message"], str)
    )
    assert MARK.lower() not in (status + json.dumps(headers).encode() + body).lower()


async def test_served_answers_carry_allow_and_the_plain_server_token(served: int) -> None:
    """Through the production listener: a 200 and a 405 (with Allow) say Server: carrier-gateway."""
    status, headers, _ = await _exchange(
        served, b"GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"
    )
    assert status.split(b" ")[1] == b"200" and headers["server"] == "carrier-gateway"
    status, headers, body = await _exchange(
        served, b"GET /one-tap/v1/login HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n"
    )
    assert status.split(b" ")[1] == b"405" and headers["allow"] == "POST"
    assert headers["server"] == "carrier-gateway" and json.loads(body)["code"] == "METHOD_NOT_ALLOWED"


async def test_a_client_gone_mid_body_is_not_an_unhandled_error(served: int) -> None:
    """A client that closes before sending the body it announced is one info line, not a traceback."""
    start = len(LOG_SINK.getvalue())
    _, writer = await asyncio.open_connection("127.0.0.1", served)
    writer.write(
        b"POST /oauth2/token HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: 100\r\n\r\ngrant_type"
    )
    await writer.drain()
    writer.close()
    async with asyncio.timeout(10):
        while True:
            lines = LOG_SINK.getvalue()[start:].splitlines()
            events = [json.loads(line)["event"] for line in lines if line.startswith("{")]
            if "client_disconnected" in events:
                break
            await asyncio.sleep(0.02)
    assert "client_disconnected" in events and "unhandled_error" not in events


def _assert_error(resp: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/json") and resp.headers["x-correlator"]
    body: dict[str, object] = resp.json()
    assert body["status"] == status and body["code"] == code and isinstance(body["message"], str)
    return body


async def test_405_lists_the_methods_and_every_answer_has_no_version(sqlite_stack: Stack) -> None:
    """405 has Allow and names the methods; 200, 401, 404 and 405 answers carry Server without digits."""
    gw = sqlite_stack.gateway_url
    refused = await sqlite_stack.http.get(f"{gw}/one-tap/v1/login")
    body = _assert_error(refused, 405, "METHOD_NOT_ALLOWED")
    assert refused.headers["allow"] == "POST" and "POST" in str(body["message"])
    put = await sqlite_stack.http.put(f"{gw}/login-check/v1/devices", json={})
    assert set(put.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    answers = [
        refused,
        put,
        await sqlite_stack.http.get(f"{gw}/healthz"),
        await sqlite_stack.http.get(f"{gw}/nowhere"),
        await sqlite_stack.http.post(f"{gw}/one-tap/v1/login", json={"token": "x"}),
    ]
    assert [resp.headers["server"] for resp in answers] == ["carrier-gateway"] * len(answers)


async def test_phone_number_and_scope_errors_say_what_is_expected(sqlite_stack: Stack) -> None:
    """A malformed phone number names the expected format (not a regular expression, not the value);
    a token without the route's scope gets a 403 naming that scope."""
    bearer = await sqlite_stack.access_token(await sqlite_stack.tenant(["one-tap:verify"]))
    resp = await sqlite_stack.call(
        "/one-tap/v1/verify", bearer, {"token": "STsid0", "phoneNumber": "13912345678"}
    )
    message = str(_assert_error(resp, 400, "INVALID_ARGUMENT")["message"])
    assert "E.164 with a leading +, e.g. +8613800000000" in message
    assert "pattern" not in message and "[0-9]" not in message and "13912345678" not in message
    denied = await sqlite_stack.call("/one-tap/v1/login", bearer, {"token": "STsid" + "0" * 32})
    assert "one-tap:login" in str(_assert_error(denied, 403, "PERMISSION_DENIED")["message"])


async def test_unreachable_redis_is_503_for_one_tap_and_camara_and_challenge_for_login_check(
    sqlite_url: str,
) -> None:
    """With Redis down, one-tap login and verify and Number Verification answer 503 UNAVAILABLE with
    Retry-After; the login check answers challenge with ATTEMPTS_NOT_COUNTED and asks no operator."""
    redis_url = f"redis://127.0.0.1:{free_port()}/0"
    async with open_stack(sqlite_url, public=True, redis_url=redis_url) as stack:
        creds = await stack.tenant(
            [
                "one-tap:login",
                "one-tap:verify",
                "login-check",
                "number-verification:verify",
                "openid",
                PURPOSE,
            ],
            redirect_uris=["https://bank.example/cb"],
        )
        bearer = await stack.access_token(creds, "one-tap:login one-tap:verify login-check")
        phone = await stack.subscriber("cmcc")
        for path, body in (
            ("/one-tap/v1/login", {"token": await stack.sdk_token(phone)}),
            ("/one-tap/v1/verify", {"token": await stack.sdk_token(phone, "verify"), "phoneNumber": phone}),
        ):
            resp = await stack.call(path, bearer, body)
            _assert_error(resp, 503, "UNAVAILABLE")
            assert resp.headers["retry-after"] == "1"
        nv = await stack.code_flow(
            creds, phone, f"openid {PURPOSE} number-verification:verify", "https://bank.example/cb"
        )
        resp = await stack.call("/number-verification/v2/verify", nv["access_token"], {"phoneNumber": phone})
        _assert_error(resp, 503, "UNAVAILABLE")
        assert resp.headers["retry-after"] == "1"
        login = await stack.call(
            "/login-check/v1/evaluate",
            bearer,
            {"phoneNumber": phone, "deviceId": "d-1", "oneTapToken": await stack.sdk_token(phone, "verify")},
        )
        assert login.status_code == 200, login.text
        assert login.json() == {
            "decision": "challenge",
            "reasons": ["ATTEMPTS_NOT_COUNTED", "NEW_DEVICE"],
            "checks": {
                "numberVerified": None,
                "simSwapped": None,
                "deviceSwapped": None,
                "deviceKnown": False,
            },
        }
