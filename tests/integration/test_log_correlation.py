"""Every log line the gateway writes while serving a request carries that request's correlator.

The suite routes all log output, through the production processors, into ``LOG_SINK``
(tests/conftest.py). Requests are made one at a time on an otherwise idle stack; a request's window
runs from just before it is sent until aiohttp's access line for it was written. Every line in the
window except the sandbox's (it shares the test process; in production it is another service)
must carry ``correlator`` equal to the request's ``x-correlator`` (or the generated one echoed when
the request had none or a malformed one).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from typing import Any

import pytest

from tests.conftest import LOG_SINK
from tests.stack import Stack

pytestmark = pytest.mark.integration

_SANDBOX_PATHS = ("/sandbox/", "/cmcc/", "/cucc/", "/ctcc/")


def _is_sandbox(line: dict[str, Any]) -> bool:
    if str(line.get("event", "")).startswith("sandbox."):
        return True
    request_line = str(line.get("first_request_line", ""))
    return request_line.partition(" ")[2].startswith(_SANDBOX_PATHS)


async def _serve(
    stack: Stack,
    method: str,
    path: str,
    *,
    correlator: str | None,
    bearer: str | None = None,
    body: Any = None,
) -> tuple[str, list[dict[str, Any]]]:
    """Send one request; the correlator the gateway echoed and the gateway's lines of its window."""
    headers = {**({"x-correlator": correlator} if correlator is not None else {})}
    if bearer is not None:
        headers["Authorization"] = f"Bearer {bearer}"
    start = len(LOG_SINK.getvalue())
    resp = await stack.http.request(method, f"{stack.gateway_url}{path}", json=body, headers=headers)
    access = f"{method} {path} HTTP/1.1"
    async with asyncio.timeout(5):
        while True:
            lines = [
                json.loads(raw) for raw in LOG_SINK.getvalue()[start:].splitlines() if raw.startswith("{")
            ]
            if any(line.get("first_request_line") == access for line in lines):
                break
            await asyncio.sleep(0.01)
    return resp.headers["x-correlator"], [line for line in lines if not _is_sandbox(line)]


def _uncorrelated(lines: list[dict[str, Any]], correlator: str) -> list[str]:
    return [str(line.get("event"))[:80] for line in lines if line.get("correlator") != correlator]


async def test_every_gateway_line_of_a_request_carries_its_correlator(sqlite_stack: Stack) -> None:
    """Access lines, auth failures, service decisions and operator-failure warnings written while
    serving a request all carry that request's correlator, a generated one included."""
    stack = sqlite_stack
    creds = await stack.tenant(["one-tap:login", "login-check"])
    bearer = await stack.access_token(creds)
    phone = await stack.subscriber("cmcc", imei="356938035643809", activatedAt="2020-01-01T00:00:00Z")
    login_token = await stack.sdk_token(phone)
    device = {"phoneNumber": phone, "deviceId": "dev-" + secrets.token_hex(6)}

    seen_events: set[str] = set()
    cases: list[tuple[str, str, str | None, Any]] = [
        ("POST", "/one-tap/v1/login", bearer, {"token": login_token}),
        ("POST", "/login-check/v1/evaluate", bearer, device),
        ("POST", "/one-tap/v1/login", "not-a-token", {"token": login_token}),
        ("GET", "/no/such/route", None, None),
    ]
    for index, (method, path, token, body) in enumerate(cases):
        sent = f"corr-{index}-{secrets.token_hex(4)}"
        echoed, lines = await _serve(stack, method, path, correlator=sent, bearer=token, body=body)
        assert echoed == sent
        assert lines and not _uncorrelated(lines, sent), (path, _uncorrelated(lines, sent))
        seen_events.update(str(line["event"]) for line in lines)

    await stack.faults("cmcc", errorRate=1.0)
    failing = await stack.sdk_token(phone)
    sent = "corr-fault-" + secrets.token_hex(4)
    _, lines = await _serve(
        stack, "POST", "/one-tap/v1/login", correlator=sent, bearer=bearer, body={"token": failing}
    )
    assert not _uncorrelated(lines, sent)
    seen_events.update(str(line["event"]) for line in lines)

    for presented in (None, "not valid!"):
        echoed, lines = await _serve(stack, "GET", "/no/such/route", correlator=presented)
        assert echoed != presented
        assert lines and not _uncorrelated(lines, echoed)

    assert {"request", "auth_failed", "login_check_evaluated", "operator_call_failed"} <= seen_events, (
        seen_events
    )
