"""The verification workflow over real sockets: the gateway, the sandbox operators (network
authentication, CMPP/SMGP/HTTP SMS into the phones' inboxes) and the phone's browser, on SQLite and
PostgreSQL. Each path a customer can take: cellular (network), Wi-Fi (code), operator down (code),
a step's time running out, wrong codes, resends, cancel, and the pumping guard."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Self

import httpx
import pytest

from tests.leaks import SENSITIVE
from tests.stack import Stack, open_stack
from tests.unit.webhooks.support import Receiver

pytestmark = pytest.mark.integration

SCOPES = ["verify", "push:send", "push:read", "templates:write", "webhooks:manage"]
NETWORK_THEN_SMS = [{"channel": "network"}, {"channel": "sms"}]
SMS = [{"channel": "sms"}]


@asynccontextmanager
async def _verify_stack(url: str, **overrides: Any) -> AsyncIterator[Stack]:
    settings = {
        "push_dispatch_poll_seconds": 0.05,
        "verify_sweep_seconds": 0.05,
        "allow_private_webhooks": True,
        **overrides,
    }
    async with open_stack(url, public=True, **settings) as stack:
        yield stack


class Bank:
    """A tenant calling the verification API, with the zh-CN code template installed."""

    def __init__(self, stack: Stack, bearer: str) -> None:
        self.stack = stack
        self.bearer = bearer

    @classmethod
    async def create(cls, stack: Stack) -> Self:
        creds = await stack.tenant(SCOPES, sandbox=True)
        bank = cls(stack, await stack.access_token(creds))
        installed = await stack.call(
            "/push/v1/templates/builtin/verification_code_zh-CN", bank.bearer, {"signature": "平安银行"}
        )
        assert installed.status_code == 201, installed.text
        return bank

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}"}

    async def start(self, phone: str, workflow: list[dict[str, Any]], **extra: Any) -> httpx.Response:
        return await self.stack.call(
            "/verify/v1/requests", self.bearer, {"phoneNumber": phone, "workflow": workflow, **extra}
        )

    async def started(self, phone: str, workflow: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        resp = await self.start(phone, workflow, **extra)
        assert resp.status_code == 202, resp.text
        body: dict[str, Any] = resp.json()
        assert resp.headers["Location"] == f"/verify/v1/requests/{body['requestId']}"
        return body

    async def get(self, request_id: str) -> dict[str, Any]:
        resp = await self.stack.http.get(
            f"{self.stack.gateway_url}/verify/v1/requests/{request_id}", headers=self.auth
        )
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    async def check(self, request_id: str, code: str) -> httpx.Response:
        return await self.stack.call(f"/verify/v1/requests/{request_id}/check", self.bearer, {"code": code})

    async def next(self, request_id: str) -> httpx.Response:
        return await self.stack.call(f"/verify/v1/requests/{request_id}/next", self.bearer)

    async def webhook(self, url: str, events: list[str]) -> None:
        resp = await self.stack.http.put(
            f"{self.stack.gateway_url}/push/v1/webhook",
            json={"url": url, "events": events},
            headers=self.auth,
        )
        assert resp.status_code == 200, resp.text
        SENSITIVE.add(resp.json()["secret"])


async def _eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def _codes(stack: Stack, phone: str) -> list[str]:
    resp = await stack.http.get(f"{stack.sandbox_url}/sandbox/devices/{phone}/messages")
    assert resp.status_code == 200, resp.text
    found = [m for msg in resp.json() if (m := re.search(r"验证码是([0-9]{4,10})", msg["text"]))]
    codes = [m.group(1) for m in found]
    SENSITIVE.update(codes)
    return codes


async def _code(stack: Stack, phone: str, count: int = 1) -> str:
    """The ``count``-th code that reached the phone (waits for it)."""
    codes: list[str] = []

    async def arrived() -> bool:
        codes[:] = await _codes(stack, phone)
        return len(codes) >= count

    await _eventually(arrived)
    return codes[count - 1]


async def _on(stack: Stack, phone: str, network: str) -> None:
    resp = await stack.http.put(f"{stack.sandbox_url}/sandbox/devices/{phone}", json={"network": network})
    assert resp.status_code == 200, resp.text


async def _open(stack: Stack, phone: str, check_url: str) -> str:
    """The phone's browser opens the check URL; the URL of the gateway page it ends on."""
    resp = await stack.http.post(
        f"{stack.sandbox_url}/sandbox/devices/{phone}/authorize", json={"url": check_url}
    )
    assert resp.status_code == 200, resp.text
    location: str = resp.json()["location"]
    return location


def _error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body: dict[str, Any] = resp.json()
    assert body["status"] == status and body["code"] == code and isinstance(body["message"], str)
    return body


def _steps(view: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    return [(s["channel"], s["status"], s.get("reason")) for s in view["steps"]]


async def test_on_cellular_the_network_step_completes_without_a_code(database_url: str) -> None:
    """The phone on cellular data opens the check URL: its operator identifies the number by the
    network, the request completes on the network step, no SMS is sent, the bank gets
    verify.completed, and the usage ledger bills one network check."""
    async with _verify_stack(database_url) as stack:
        bank = await Bank.create(stack)
        phone = await stack.subscriber("cmcc")
        started = time.perf_counter()
        body = await bank.started(phone, NETWORK_THEN_SMS, clientReference="login-42")
        assert set(body) == {"requestId", "checkUrl"}
        SENSITIVE.add(body["checkUrl"].rsplit("/", 1)[1])

        landed = await _open(stack, phone, body["checkUrl"])

        assert landed == body["checkUrl"]
        view = await bank.get(body["requestId"])
        elapsed = time.perf_counter() - started
        assert view["status"] == "completed", view
        assert _steps(view) == [("network", "completed", None), ("sms", "waiting", None)]
        assert view["codesSent"] == 0 and view["clientReference"] == "login-42"
        assert view["phoneNumber"].endswith(phone[-4:]) and phone not in str(view)
        assert await _codes(stack, phone) == []
        page = await stack.http.get(body["checkUrl"])
        assert page.status_code == 200 and "验证成功" in page.text
        assert elapsed < 5


async def test_on_wifi_the_code_step_starts_at_once_and_the_right_code_completes(database_url: str) -> None:
    """On Wi-Fi the check URL finds no mobile network: the network step fails off_network, a code
    goes to the phone's inbox, a wrong code answers 400 INVALID_CODE with 4 attempts left, and the
    right code completes the request on the SMS step."""
    async with _verify_stack(database_url) as stack:
        bank = await Bank.create(stack)
        phone = await stack.subscriber("ctcc")
        await _on(stack, phone, "wifi")
        body = await bank.started(phone, NETWORK_THEN_SMS, codeLength=8)
        SENSITIVE.add(body["checkUrl"].rsplit("/", 1)[1])

        landed = await _open(stack, phone, body["checkUrl"])

        assert landed == body["checkUrl"]
        code = await _code(stack, phone)
        assert len(code) == 8
        view = await bank.get(body["requestId"])
        assert _steps(view) == [("network", "failed", "off_network"), ("sms", "active", None)]
        wrong = "0" * 8 if code != "0" * 8 else "1" * 8
        refused = _error(await bank.check(body["requestId"], wrong), 400, "INVALID_CODE")
        assert refused["attemptsLeft"] == 4
        done = await bank.check(body["requestId"], code)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "completed"
        assert _steps(done.json())[1] == ("sms", "completed", None)
        _error(await bank.check(body["requestId"], code), 409, "VERIFICATION_CONFLICT")


async def test_an_operator_whose_circuit_is_open_is_skipped_for_a_code(own_database_url: str) -> None:
    """China Mobile is down and its circuit has opened: the phone on cellular data opening the check
    URL is not sent to it; the network step fails operator_unavailable and a code is sent at once."""
    async with _verify_stack(own_database_url, operator_circuit_threshold=2) as stack:
        bank = await Bank.create(stack)
        phone = await stack.subscriber("cmcc")
        await stack.faults("cmcc", down=True)
        camara = await stack.tenant(["sim-swap:check"])
        token = await stack.access_token(camara)
        for _ in range(3):
            await stack.call("/sim-swap/v2/check", token, {"phoneNumber": phone})
        body = await bank.started(phone, NETWORK_THEN_SMS)
        SENSITIVE.add(body["checkUrl"].rsplit("/", 1)[1])

        await _open(stack, phone, body["checkUrl"])

        view = await bank.get(body["requestId"])
        assert _steps(view) == [("network", "failed", "operator_unavailable"), ("sms", "active", None)]
        await stack.faults("cmcc", down=False)
        code = await _code(stack, phone)
        assert (await bank.check(body["requestId"], code)).status_code == 200


async def test_a_network_step_nobody_opens_gives_way_to_a_code_when_its_time_is_up(database_url: str) -> None:
    """Nobody opens the check URL: once channelTimeout has passed the sweeper expires the network
    step and sends a code by itself."""
    async with _verify_stack(database_url) as stack:
        bank = await Bank.create(stack)
        phone = await stack.subscriber("cucc")
        body = await bank.started(phone, NETWORK_THEN_SMS, channelTimeout=60)
        stack.clock.advance(61)

        code = await _code(stack, phone)

        view = await bank.get(body["requestId"])
        assert _steps(view) == [("network", "expired", "timeout"), ("sms", "active", None)]
        assert (await bank.check(body["requestId"], code)).status_code == 200


async def test_five_wrong_codes_fail_the_request_and_the_bank_hears_of_it(own_database_url: str) -> None:
    """Five wrong codes: the fifth answers attemptsLeft 0, the request is failed
    (too_many_attempts), the right code no longer works (409) and verify.failed is delivered."""
    async with _verify_stack(own_database_url) as stack, Receiver() as receiver:
        if True:
            bank = await Bank.create(stack)
            await bank.webhook(receiver.url("/hooks"), ["verify.completed", "verify.failed"])
            phone = await stack.subscriber("cmcc")
            body = await bank.started(phone, SMS, clientReference="pay-7")
            assert set(body) == {"requestId"}
            code = await _code(stack, phone)
            wrong = "000000" if code != "000000" else "111111"
            left = [
                _error(await bank.check(body["requestId"], wrong), 400, "INVALID_CODE")["attemptsLeft"]
                for _ in range(5)
            ]

            assert left == [4, 3, 2, 1, 0]
            view = await bank.get(body["requestId"])
            assert view["status"] == "failed" and _steps(view) == [("sms", "failed", "too_many_attempts")]
            _error(await bank.check(body["requestId"], code), 409, "VERIFICATION_CONFLICT")

            async def delivered() -> bool:
                return bool(receiver.at("/hooks"))

            await _eventually(delivered)
            event = json.loads(receiver.at("/hooks")[0].body)
            assert event["type"] == "verify.failed"
            assert event["data"] == {
                "requestId": body["requestId"],
                "status": "failed",
                "clientReference": "pay-7",
                "reason": "too_many_attempts",
            }


async def test_a_code_step_whose_time_is_up_expires_the_request(database_url: str) -> None:
    """An SMS-only request nobody answers is expired after channelTimeout; its code is then refused."""
    async with _verify_stack(database_url) as stack:
        bank = await Bank.create(stack)
        phone = await stack.subscriber("ctcc")
        body = await bank.started(phone, SMS, channelTimeout=120)
        code = await _code(stack, phone)
        stack.clock.advance(121)

        async def expired() -> bool:
            return bool((await bank.get(body["requestId"]))["status"] == "expired")

        await _eventually(expired)
        assert _steps(await bank.get(body["requestId"])) == [("sms", "expired", "timeout")]
        _error(await bank.check(body["requestId"], code), 409, "VERIFICATION_CONFLICT")


async def test_next_resends_a_new_code_at_most_three_codes_in_all(database_url: str) -> None:
    """On the last SMS step, next sends a new code (the old one stops working); the fourth code is
    refused with 409 VERIFICATION_CONFLICT; the newest code completes the request."""
    async with _verify_stack(database_url) as stack:
        bank = await Bank.create(stack)
        phone = await stack.subscriber("cmcc")
        body = await bank.started(phone, SMS)
        first = await _code(stack, phone, 1)
        for count in (2, 3):
            resent = await bank.next(body["requestId"])
            assert resent.status_code == 200, resent.text
            assert resent.json()["codesSent"] == count
        _error(await bank.next(body["requestId"]), 409, "VERIFICATION_CONFLICT")
        third = await _code(stack, phone, 3)
        if first != third:
            _error(await bank.check(body["requestId"], first), 400, "INVALID_CODE")
        assert (await bank.check(body["requestId"], third)).json()["status"] == "completed"


async def test_cancel_ends_a_request_and_other_tenants_see_nothing(database_url: str) -> None:
    """DELETE cancels (204) a pending request; a second DELETE is 409; another tenant's GET, check,
    next and DELETE answer 404; a new request for the number may then start (the first one no longer
    blocks it), while a second concurrent one is 409 VERIFICATION_IN_PROGRESS."""
    async with _verify_stack(database_url) as stack:
        bank, other = await Bank.create(stack), await Bank.create(stack)
        phone = await stack.subscriber("cucc")
        body = await bank.started(phone, NETWORK_THEN_SMS)
        _error(await bank.start(phone, SMS), 409, "VERIFICATION_IN_PROGRESS")
        url = f"{stack.gateway_url}/verify/v1/requests/{body['requestId']}"
        _error(await stack.http.get(url, headers=other.auth), 404, "NOT_FOUND")
        _error(await other.check(body["requestId"], "123456"), 404, "NOT_FOUND")
        _error(await other.next(body["requestId"]), 404, "NOT_FOUND")
        _error(await stack.http.delete(url, headers=other.auth), 404, "NOT_FOUND")

        cancelled = await stack.http.delete(url, headers=bank.auth)

        assert cancelled.status_code == 204
        view = await bank.get(body["requestId"])
        assert view["status"] == "cancelled"
        assert _steps(view) == [("network", "cancelled", None), ("sms", "waiting", None)]
        _error(await stack.http.delete(url, headers=bank.auth), 409, "VERIFICATION_CONFLICT")
        again = await bank.started(phone, NETWORK_THEN_SMS)
        assert again["requestId"] != body["requestId"]


@pytest.mark.parametrize(
    "body",
    [
        {"phoneNumber": "13800138000", "workflow": SMS},
        {"phoneNumber": "+8613800138000", "workflow": []},
        {"phoneNumber": "+8613800138000", "workflow": [{"channel": "voice"}]},
        {"phoneNumber": "+8613800138000", "workflow": [{"channel": "network"}] * 2},
        {"phoneNumber": "+8613800138000", "workflow": SMS * 4},
        {"phoneNumber": "+8613800138000", "workflow": [{"channel": "network", "templateId": "x"}]},
        {"phoneNumber": "+8613800138000", "workflow": SMS, "codeLength": 3},
        {"phoneNumber": "+8613800138000", "workflow": SMS, "codeLength": "6"},
        {"phoneNumber": "+8613800138000", "workflow": SMS, "channelTimeout": 30},
        {"phoneNumber": "+8613800138000", "workflow": SMS, "locale": "zh CN"},
        {"phoneNumber": "+8613800138000", "workflow": SMS, "clientReference": "a\nb"},
        {"phoneNumber": "+8613800138000", "workflow": SMS, "extra": 1},
        [],
    ],
    ids=[
        "national number",
        "no step",
        "unknown channel",
        "two network steps",
        "four steps",
        "template on network",
        "short code",
        "string length",
        "short timeout",
        "bad locale",
        "control character",
        "unknown field",
        "not an object",
    ],
)
async def test_malformed_requests_are_400_and_store_nothing(sqlite_url: str, body: Any) -> None:
    """Each malformed body answers 400 INVALID_ARGUMENT in the error shape; no SMS is sent."""
    async with _verify_stack(sqlite_url) as stack:
        bank = await Bank.create(stack)
        _error(await stack.call("/verify/v1/requests", bank.bearer, body), 400, "INVALID_ARGUMENT")


async def test_refusals_before_anything_is_sent(sqlite_url: str) -> None:
    """A fixed line is 422 INVALID_PHONE_NUMBER; a tenant without an approved code template is 422
    TEMPLATE_NOT_APPROVED naming the built-in to install; a malformed code is 400; an unknown id 404;
    a token without the verify scope is 403."""
    async with _verify_stack(sqlite_url) as stack:
        bank = await Bank.create(stack)
        SENSITIVE.add("+861012345678")
        _error(await bank.start("+861012345678", SMS), 422, "INVALID_PHONE_NUMBER")
        creds = await stack.tenant(SCOPES, sandbox=True)
        bare = Bank(stack, await stack.access_token(creds))
        phone = await stack.subscriber("cmcc")
        missing = _error(await bare.start(phone, SMS, locale="en-GB"), 422, "TEMPLATE_NOT_APPROVED")
        assert "verification_code_en" in missing["message"]
        body = await bank.started(phone, SMS)
        _error(await bank.check(body["requestId"], "12ab56"), 400, "INVALID_ARGUMENT")
        _error(await bank.check("f" * 36, "123456"), 404, "NOT_FOUND")
        push_only = await stack.tenant(["push:send"])
        _error(
            await Bank(stack, await stack.access_token(push_only)).start(phone, SMS), 403, "PERMISSION_DENIED"
        )


async def test_a_pumping_run_over_one_prefix_is_blocked_and_reported(own_database_url: str) -> None:
    """Codes to sequential numbers of one block that nobody verifies: once 5 are older than the
    grace minute with none verified, the prefix is blocked (verify.prefix_blocked webhook); later
    SMS-first requests to that prefix answer 429 with Retry-After, while another prefix still works."""
    async with _verify_stack(own_database_url, verify_pumping_min_codes=5) as stack, Receiver() as receiver:
        bank = await Bank.create(stack)
        await bank.webhook(receiver.url("/hooks"), ["verify.prefix_blocked"])
        numbers = [f"+86139007{n:05d}" for n in range(12)]
        SENSITIVE.update(numbers)
        answers: list[int] = []
        for number in numbers:
            answers.append((await bank.start(number, SMS)).status_code)
            stack.clock.advance(15)
        assert answers[:6] == [202] * 6 and 429 in answers
        blocked_at = answers.index(429)
        refused = await bank.start(f"+86139007{99:05d}", SMS)
        _error(refused, 429, "TOO_MANY_REQUESTS")
        assert 1 <= int(refused.headers["Retry-After"]) <= 3600
        elsewhere = f"+86139008{12:05d}"
        SENSITIVE.add(elsewhere)
        assert (await bank.start(elsewhere, SMS)).status_code == 202

        async def reported() -> bool:
            return bool(receiver.at("/hooks"))

        await _eventually(reported)
        event = json.loads(receiver.at("/hooks")[0].body)
        assert event["type"] == "verify.prefix_blocked"
        assert event["data"]["prefix"] == "+861390070" and event["data"]["verified"] == 0
        assert event["data"]["codesSent"] >= 5 and blocked_at <= 10
