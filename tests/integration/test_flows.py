"""Push links bound to their recipient, over real sockets on SQLite and PostgreSQL (contract §6):
the landing page, redemption with the opening device's operator H5 token, flow sessions and the
claim-location flow, with the tenant's webhooks verified by standardwebhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa

from gateway.db import create_engine
from tests.stack import Stack
from tests.unit.flows.support import (
    Browser,
    Tenant,
    dumps,
    flow_call,
    flows_stack,
    h5_token,
    redeem,
)
from tests.unit.push.fakes import FakeSmsChannel
from tests.unit.webhooks.support import Receiver

pytestmark = pytest.mark.integration
CLAIM = {"claimNo": "BA2026-0042", "insurerName": "平安产险"}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The insurer's webhook receiver on 127.0.0.1."""
    async with Receiver() as running:
        yield running


@pytest.fixture
async def flows(database_url: str) -> AsyncIterator[tuple[Stack, dict[str, FakeSmsChannel]]]:
    """Gateway + sandbox with in-memory SMS channels, on SQLite and PostgreSQL."""
    async with flows_stack(database_url) as running:
        yield running


class Claim:
    """One claim-location SMS to a sandbox subscriber of cmcc, submitted to the operator."""

    def __init__(self, stack: Stack, insurer: Tenant, phone: str, message_id: str, code: str) -> None:
        self.stack = stack
        self.insurer = insurer
        self.phone = phone
        self.message_id = message_id
        self.code = code

    @classmethod
    async def send(cls, stack: Stack, insurer: Tenant, **extra: Any) -> Claim:
        phone = await stack.subscriber("cmcc")
        template = await insurer.builtin("claim-location")
        message_id, code = await insurer.send(template, phone, CLAIM, **extra)
        await insurer.wait_status(message_id, "submitted")
        return cls(stack, insurer, phone, message_id, code)

    async def redeem_as_holder(self) -> dict[str, Any]:
        resp = await redeem(self.stack, self.code, await h5_token(self.stack, self.phone), operator="cmcc")
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body


async def _checks(stack: Stack, tenant: Tenant) -> int:
    """Operator number checks recorded in the tenant's usage ledger."""
    sql = "SELECT count(*) FROM usage_records WHERE tenant_id = :t AND capability = 'one_tap_verify'"
    return await _count(stack, sql, t=tenant.creds.tenant_id)


async def _count(stack: Stack, sql: str, **params: Any) -> int:
    engine = create_engine(stack.settings.database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(sa.text(sql), params)).scalar_one())
    finally:
        await engine.dispose()


async def test_holder_redeems_and_the_message_is_opened(
    flows: tuple[Stack, dict[str, FakeSmsChannel]], receiver: Receiver
) -> None:
    """The recipient's own H5 token redeems the link: 200 with a flow session, the flow and the
    message's params; the message becomes opened and the tenant gets link.opened once."""
    stack, _ = flows
    insurer = await Tenant.create(stack, receiver)
    claim = await Claim.send(stack, insurer)

    body = await claim.redeem_as_holder()

    assert body["session"].startswith("fls_") and len(body["session"]) == 47
    assert body["flow"] == "claim_location"
    assert body["params"] == CLAIM
    assert body["state"] == "consent_pending"
    message = await insurer.wait_status(claim.message_id, "opened")
    assert [e["type"] for e in message["events"]][-1] == "opened"
    [opened] = await insurer.wait_event("link.opened")
    assert opened["data"]["messageId"] == claim.message_id
    assert opened["data"]["flow"] == "claim_location" and opened["data"]["channel"] == "h5"


async def test_another_phone_is_refused_and_the_tenant_is_told(
    flows: tuple[Stack, dict[str, FakeSmsChannel]], receiver: Receiver
) -> None:
    """A token from another phone (same operator) is 403 LINK_NOT_FOR_THIS_DEVICE; the tenant gets
    link.rejected without the forwarder's number; the holder can still open the link afterwards."""
    stack, _ = flows
    insurer = await Tenant.create(stack, receiver)
    claim = await Claim.send(stack, insurer)
    other = await stack.subscriber("cmcc")

    resp = await redeem(stack, claim.code, await h5_token(stack, other), operator="cmcc")

    assert resp.status_code == 403, resp.text
    assert resp.json()["code"] == "LINK_NOT_FOR_THIS_DEVICE"
    [rejected] = await insurer.wait_event("link.rejected")
    assert rejected["data"]["messageId"] == claim.message_id
    assert rejected["data"]["reason"] == "NUMBER_MISMATCH"
    for digits in (other, other[3:], other[-8:], claim.phone[3:]):
        assert digits not in dumps(rejected)
    message = await insurer.message(claim.message_id)
    assert message["status"] == "submitted"
    assert {"type": "link_rejected", "detail": "NUMBER_MISMATCH"}.items() <= message["events"][-1].items()
    assert (await claim.redeem_as_holder())["state"] == "consent_pending"


async def test_declared_operator_other_than_the_recipients_is_refused(
    flows: tuple[Stack, dict[str, FakeSmsChannel]], receiver: Receiver
) -> None:
    """A token of another operator's phone is refused with reason OPERATOR_MISMATCH, whether the
    operator is declared or only implied by the token."""
    stack, _ = flows
    insurer = await Tenant.create(stack, receiver)
    claim = await Claim.send(stack, insurer)
    unicom = await stack.subscriber("cucc")

    declared = await redeem(stack, claim.code, await h5_token(stack, unicom), operator="cucc")
    implied = await redeem(stack, claim.code, await h5_token(stack, unicom))

    assert (declared.status_code, implied.status_code) == (403, 403)
    events = await insurer.wait_event("link.rejected", 2)
    assert {e["data"]["reason"] for e in events} == {"OPERATOR_MISMATCH"}
    assert await _checks(stack, insurer) == 0, "another operator's token costs no operator check"


async def test_expired_link_is_410_on_page_and_api(flows: tuple[Stack, dict[str, FakeSmsChannel]]) -> None:
    """After its TTL the link answers 410 LINK_EXPIRED (no operator call) and the page is a 410 page."""
    stack, _ = flows
    insurer = await Tenant.create(stack)
    claim = await Claim.send(stack, insurer, ttlSeconds=60)
    token = await h5_token(stack, claim.phone)
    stack.clock.advance(61)

    resp = await redeem(stack, claim.code, token, operator="cmcc")
    page = await stack.http.get(f"{stack.gateway_url}/l/{claim.code}")

    assert resp.status_code == 410 and resp.json()["code"] == "LINK_EXPIRED"
    assert page.status_code == 410 and "text/html" in page.headers["content-type"]
    assert "链接已失效" in page.text and "This link has expired" in page.text
    stack.clock.advance(-61)
    assert (await redeem(stack, claim.code, token, operator="cmcc")).status_code == 200, "token was not spent"


async def test_concurrent_holder_redemptions_make_one_flow_state(
    flows: tuple[Stack, dict[str, FakeSmsChannel]], receiver: Receiver
) -> None:
    """Five redemptions by the holder at once all succeed with distinct sessions, but there is one
    flow state, one opened event and one link.opened webhook."""
    stack, _ = flows
    insurer = await Tenant.create(stack, receiver)
    claim = await Claim.send(stack, insurer)
    tokens = [await h5_token(stack, claim.phone) for _ in range(5)]

    answers = await asyncio.gather(*(redeem(stack, claim.code, t, operator="cmcc") for t in tokens))

    assert [a.status_code for a in answers] == [200] * 5, [a.text for a in answers]
    assert len({a.json()["session"] for a in answers}) == 5
    assert (
        await _count(stack, "SELECT count(*) FROM flow_states WHERE message_id = :m", m=claim.message_id) == 1
    )
    await insurer.wait_event("link.opened")
    await asyncio.sleep(0.5)
    assert len(insurer.events("link.opened")) == 1
    events = (await insurer.message(claim.message_id))["events"]
    assert [e["type"] for e in events].count("opened") == 1


async def test_preview_get_reads_only(flows: tuple[Stack, dict[str, FakeSmsChannel]]) -> None:
    """GET /l/{code} (as a link previewer would) serves the landing page with the security headers
    and consumes nothing: the message stays submitted, no flow state exists."""
    stack, _ = flows
    insurer = await Tenant.create(stack)
    claim = await Claim.send(stack, insurer)

    pages = [await stack.http.get(f"{stack.gateway_url}/l/{claim.code}") for _ in range(3)]

    for page in pages:
        assert page.status_code == 200
        headers = page.headers
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert f"connect-src 'self' {stack.sandbox_url}" in csp
        assert "geolocation=(self)" in headers["permissions-policy"]
        assert "hap://app/com.carriergateway.claims/Location?ticket=" in page.text
        assert claim.phone[3:] not in page.text and claim.phone[-4:] in page.text
        assert "<script>" not in page.text
    assert (await insurer.message(claim.message_id))["status"] == "submitted"
    assert (
        await _count(stack, "SELECT count(*) FROM flow_states WHERE message_id = :m", m=claim.message_id) == 0
    )
    assert (await claim.redeem_as_holder())["state"] == "consent_pending"


async def test_unknown_and_malformed_codes_are_404(flows: tuple[Stack, dict[str, FakeSmsChannel]]) -> None:
    """An unknown or malformed code is a 404 page on GET and 404 NOT_FOUND on redeem."""
    stack, _ = flows
    for code in ("A" * 22, "short", "x" * 40, "%3Cscript%3E"):
        page = await stack.http.get(f"{stack.gateway_url}/l/{code}")
        assert page.status_code == 404 and "找不到此链接" in page.text, code
        assert page.headers["referrer-policy"] == "no-referrer"
        resp = await redeem(stack, code, "H5HTTPS" + "0" * 32)
        assert resp.status_code == 404 and resp.json()["code"] == "NOT_FOUND", code


async def test_invalid_token_is_422_and_bad_bodies_are_400(
    flows: tuple[Stack, dict[str, FakeSmsChannel]],
) -> None:
    """A forged token is 422 ONE_TAP.TOKEN_INVALID; malformed bodies are 400, never 500."""
    stack, _ = flows
    insurer = await Tenant.create(stack)
    claim = await Claim.send(stack, insurer)
    url = f"{stack.gateway_url}/push/v1/links/{claim.code}/redeem"

    forged = await redeem(stack, claim.code, "H5HTTPS" + "f" * 32, operator="cmcc")
    assert forged.status_code == 422 and forged.json()["code"] == "ONE_TAP.TOKEN_INVALID"
    for raw in (
        b"{",
        b"[]",
        b"{}",
        b'{"token": 5}',
        b'{"token": "H5HTTPSabcdefgh", "x": 1}',
        b'{"token": "H5HTTPSabcdefgh", "operator": "att"}',
        b'{"token": "H5HTTPSabcdefgh", "channel": "sms"}',
    ):
        resp = await stack.http.post(url, content=raw, headers={"Content-Type": "application/json"})
        assert resp.status_code == 400 and resp.json()["code"] == "INVALID_ARGUMENT", raw


async def test_ten_wrong_phone_attempts_do_not_lock_out_the_holder(
    flows: tuple[Stack, dict[str, FakeSmsChannel]], receiver: Receiver
) -> None:
    """A forwarded link tried ten times from another phone's browser (same operator, its own
    cookie and address): every attempt is 403, but only the first reaches the operator (one check
    in the usage ledger, one link.rejected); the holder, on its own phone, then redeems at once."""
    stack, _ = flows
    insurer = await Tenant.create(stack, receiver)
    claim = await Claim.send(stack, insurer)
    other = await stack.subscriber("cmcc")

    async with Browser(stack, "10.64.1.7") as forwardee, Browser(stack, "10.64.9.3") as holder:
        answers = [await forwardee.redeem(claim.code, await h5_token(stack, other)) for _ in range(10)]
        assert [a.status_code for a in answers] == [403] * 10, [a.text for a in answers]
        assert {a.json()["code"] for a in answers} == {"LINK_NOT_FOR_THIS_DEVICE"}
        assert "gw_device" in answers[0].headers["set-cookie"]
        assert "set-cookie" not in answers[1].headers, "the browser kept its device cookie"
        assert await _checks(stack, insurer) == 1

        mine = await holder.redeem(claim.code, await h5_token(stack, claim.phone), operator="cmcc")

    assert mine.status_code == 200, mine.text
    assert mine.json()["state"] == "consent_pending"
    assert await _checks(stack, insurer) == 2
    await insurer.wait_event("link.opened")
    assert len(insurer.events("link.rejected")) == 1


async def test_a_cookieless_caller_is_bounded_per_source(sqlite_url: str) -> None:
    """A caller that drops its device cookie is checked at each attempt, but its source address
    allows FLOW_REDEEM_ATTEMPTS x 5 failures per window (then 429 with Retry-After, no check):
    the billed checks are bounded, and the holder at another address still redeems."""
    async with flows_stack(sqlite_url, flow_redeem_attempts=2) as (stack, _):
        insurer = await Tenant.create(stack)
        claim = await Claim.send(stack, insurer)
        other = await stack.subscriber("cmcc")
        statuses = []
        for _ in range(14):
            async with Browser(stack, "10.64.1.7") as fresh:
                statuses.append((await fresh.redeem(claim.code, await h5_token(stack, other))).status_code)
        assert statuses == [403] * 10 + [429] * 4
        assert await _checks(stack, insurer) == 10
        async with Browser(stack, "10.64.1.7") as blocked:
            last = await blocked.redeem(claim.code, await h5_token(stack, other))
        assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1
        async with Browser(stack, "10.64.9.3") as holder:
            mine = await holder.redeem(claim.code, await h5_token(stack, claim.phone), operator="cmcc")
        assert mine.status_code == 200, mine.text


async def test_failures_are_counted_per_device(sqlite_url: str) -> None:
    """Invalid tokens count against the device: past FLOW_REDEEM_ATTEMPTS the device is 429 with
    Retry-After; another device at the same address is not; the window's end frees the device."""
    async with flows_stack(sqlite_url, flow_redeem_attempts=2, flow_redeem_window_seconds=60) as (stack, _):
        insurer = await Tenant.create(stack)
        claim = await Claim.send(stack, insurer, ttlSeconds=3600)
        forged = "H5HTTPS" + "f" * 32
        async with Browser(stack, "10.64.1.7") as device, Browser(stack, "10.64.1.7") as neighbour:
            statuses = [(await device.redeem(claim.code, forged)).status_code for _ in range(3)]
            assert statuses == [422, 422, 429]
            last = await device.redeem(claim.code, forged)
            assert last.status_code == 429 and 1 <= int(last.headers["retry-after"]) <= 60
            assert (await neighbour.redeem(claim.code, forged)).status_code == 422
            stack.clock.advance(61)
            assert (await device.redeem(claim.code, forged)).status_code == 422


async def test_a_known_wrong_phone_is_checked_again_from_another_source(
    flows: tuple[Stack, dict[str, FakeSmsChannel]],
) -> None:
    """The memory of a wrong phone is per device and source: the same browser on another network
    (a dual-SIM phone that switched its data SIM) is checked again, and the window's end forgets it."""
    stack, _ = flows
    insurer = await Tenant.create(stack)
    claim = await Claim.send(stack, insurer, ttlSeconds=3600)
    other = await stack.subscriber("cmcc")
    async with Browser(stack, "10.64.1.7") as browser:
        assert (await browser.redeem(claim.code, await h5_token(stack, other))).status_code == 403
        assert (await browser.redeem(claim.code, await h5_token(stack, other))).status_code == 403
        assert await _checks(stack, insurer) == 1
        browser.client.headers["X-Forwarded-For"] = "10.80.3.3"
        assert (await browser.redeem(claim.code, await h5_token(stack, other))).status_code == 403
        assert await _checks(stack, insurer) == 2
        stack.clock.advance(601)
        assert (await browser.redeem(claim.code, await h5_token(stack, other))).status_code == 403
        assert await _checks(stack, insurer) == 3


async def test_location_is_shared_once_with_the_insurer(
    flows: tuple[Stack, dict[str, FakeSmsChannel]], receiver: Receiver
) -> None:
    """Sharing answers 200, completes the message and delivers claim.location_shared with the
    coordinates and claim params; a second share is 409; resuming shows the shared state."""
    stack, _ = flows
    insurer = await Tenant.create(stack, receiver)
    claim = await Claim.send(stack, insurer)
    session = (await claim.redeem_as_holder())["session"]
    position = {"latitude": 31.2304, "longitude": 121.4737, "accuracyMeters": 12.5}

    shared = await flow_call(stack, session, "POST", "/flows/v1/claim-location", position)

    assert shared.status_code == 200, shared.text
    assert shared.json()["status"] == "shared"
    assert shared.headers["cache-control"] == "no-store"
    [event] = await insurer.wait_event("claim.location_shared")
    assert event["data"]["messageId"] == claim.message_id
    assert event["data"]["location"] == position
    assert event["data"]["claim"] == CLAIM
    assert (await insurer.message(claim.message_id))["status"] == "completed"
    again = await flow_call(stack, session, "POST", "/flows/v1/claim-location", position)
    assert again.status_code == 409 and again.json()["code"] == "FLOW_STATE_CONFLICT"
    resumed = await claim.redeem_as_holder()
    assert resumed["state"] == "shared" and resumed["session"] != session
    declined = await flow_call(stack, resumed["session"], "POST", "/flows/v1/claim-location/decline")
    assert declined.status_code == 409


async def test_decline_records_and_allows_a_later_share(
    flows: tuple[Stack, dict[str, FakeSmsChannel]], receiver: Receiver
) -> None:
    """Declining answers 200, records a declined event and publishes claim.location_declined (once,
    with the claim's params) without sharing anything; the holder may still share afterwards."""
    stack, _ = flows
    insurer = await Tenant.create(stack, receiver)
    claim = await Claim.send(stack, insurer)
    session = (await claim.redeem_as_holder())["session"]

    declined = await flow_call(stack, session, "POST", "/flows/v1/claim-location/decline")

    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    message = await insurer.message(claim.message_id)
    assert message["events"][-1]["type"] == "declined" and message["status"] == "opened"
    [event] = await insurer.wait_event("claim.location_declined")
    assert event["data"]["messageId"] == claim.message_id and event["data"]["claim"] == CLAIM
    assert event["data"]["declinedAt"] == declined.json()["at"]
    assert claim.phone[3:] not in dumps(event)
    again = await flow_call(stack, session, "POST", "/flows/v1/claim-location/decline")
    assert again.status_code == 200 and again.json()["status"] == "declined"
    assert (await claim.redeem_as_holder())["state"] == "declined"
    await asyncio.sleep(0.3)
    assert insurer.events("claim.location_shared") == []
    assert len(insurer.events("claim.location_declined")) == 1, "declining again publishes nothing"
    body = {"latitude": 0, "longitude": 0, "accuracyMeters": 1}
    assert (await flow_call(stack, session, "POST", "/flows/v1/claim-location", body)).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"latitude": 90.5, "longitude": 0, "accuracyMeters": 5},
        {"latitude": 0, "longitude": -180.01, "accuracyMeters": 5},
        {"latitude": 0, "longitude": 0, "accuracyMeters": 0},
        {"latitude": 0, "longitude": 0, "accuracyMeters": 100_001},
        {"latitude": "31.2", "longitude": 121.4, "accuracyMeters": 5},
        {"latitude": True, "longitude": 121.4, "accuracyMeters": 5},
        {"latitude": 31.2, "longitude": 121.4},
        {"latitude": 31.2, "longitude": 121.4, "accuracyMeters": 5, "altitude": 3},
        [31.2, 121.4, 5],
    ],
)
async def test_bad_locations_are_400(sqlite_url: str, body: Any) -> None:
    """Out-of-range, mistyped, missing or unknown properties are 400 INVALID_ARGUMENT; nothing is shared."""
    async with flows_stack(sqlite_url) as (stack, _):
        insurer = await Tenant.create(stack)
        claim = await Claim.send(stack, insurer)
        session = (await claim.redeem_as_holder())["session"]
        resp = await flow_call(stack, session, "POST", "/flows/v1/claim-location", body)
        assert resp.status_code == 400 and resp.json()["code"] == "INVALID_ARGUMENT", resp.text
        nan = await stack.http.post(
            f"{stack.gateway_url}/flows/v1/claim-location",
            content=b'{"latitude": NaN, "longitude": 1, "accuracyMeters": 5}',
            headers={"Authorization": f"Bearer {session}", "Content-Type": "application/json"},
        )
        assert nan.status_code == 400
        assert (await insurer.message(claim.message_id))["status"] == "opened"


async def test_flow_sessions_authenticate(sqlite_url: str) -> None:
    """No, malformed, unknown or expired sessions are one 401; a claim session cannot use the
    branch-queue API (403); an access token is not a flow session."""
    async with flows_stack(sqlite_url, flow_session_ttl=60) as (stack, _):
        insurer = await Tenant.create(stack)
        claim = await Claim.send(stack, insurer)
        session = (await claim.redeem_as_holder())["session"]
        body = {"latitude": 1, "longitude": 1, "accuracyMeters": 1}
        url = f"{stack.gateway_url}/flows/v1/claim-location"
        assert (await stack.http.post(url, json=body)).status_code == 401
        for bearer in ("fls_short", "fls_" + "A" * 43, insurer.bearer, session + "x"):
            resp = await flow_call(stack, bearer, "POST", "/flows/v1/claim-location", body)
            assert resp.status_code == 401 and resp.json()["code"] == "UNAUTHENTICATED"
        queue = await flow_call(stack, session, "GET", "/flows/v1/branch-queue")
        assert queue.status_code == 403 and queue.json()["code"] == "PERMISSION_DENIED"
        stack.clock.advance(61)
        expired = await flow_call(stack, session, "POST", "/flows/v1/claim-location", body)
        assert expired.status_code == 401


async def test_the_insurer_reads_the_shared_location(
    flows: tuple[Stack, dict[str, FakeSmsChannel]], receiver: Receiver
) -> None:
    """GET /push/v1/messages/{id}/location (push:read) is 404 before anything is shared and after a
    decline, then answers what claim.location_shared carried; another tenant's id is the 404 of an
    unknown id; a token without push:read is 403."""
    stack, _ = flows
    insurer = await Tenant.create(stack, receiver)
    claim = await Claim.send(stack, insurer)
    path = f"/push/v1/messages/{claim.message_id}/location"

    before = await insurer.call("GET", path)
    assert before.status_code == 404 and before.json()["code"] == "NOT_FOUND"
    session = (await claim.redeem_as_holder())["session"]
    assert (await insurer.call("GET", path)).status_code == 404
    assert (await flow_call(stack, session, "POST", "/flows/v1/claim-location/decline")).status_code == 200
    assert (await insurer.call("GET", path)).status_code == 404
    position = {"latitude": 31.2304, "longitude": 121.4737, "accuracyMeters": 12.5}
    assert (await flow_call(stack, session, "POST", "/flows/v1/claim-location", position)).status_code == 200

    read = await insurer.call("GET", path)

    assert read.status_code == 200, read.text
    assert read.headers["cache-control"] == "no-store"
    [event] = await insurer.wait_event("claim.location_shared")
    assert read.json() == {
        "messageId": claim.message_id,
        "location": event["data"]["location"],
        "sharedAt": event["data"]["sharedAt"],
    }
    assert read.json()["location"] == position
    stranger = await Tenant.create(stack)
    theirs = await stranger.call("GET", path)
    unknown = await stranger.call("GET", "/push/v1/messages/00000000-0000-4000-8000-000000000000/location")
    assert theirs.status_code == 404 and theirs.json() == unknown.json()
    sender_only = await stack.tenant(["push:send"], sandbox=True)
    token = await stack.access_token(sender_only)
    denied = await stack.http.get(f"{stack.gateway_url}{path}", headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403
