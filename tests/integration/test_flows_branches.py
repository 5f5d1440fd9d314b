"""Branches and their queues over real sockets on SQLite and PostgreSQL (contract §6): tickets by
SMS, the customer's ticket page API after redemption, call-next, cancel, tenant isolation and bad
input, with webhooks verified by standardwebhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.stack import Stack
from tests.unit.flows.support import (
    Tenant,
    code_of,
    dumps,
    flow_call,
    flows_stack,
    h5_token,
    random_phone,
    redeem,
)
from tests.unit.push.fakes import FakeSmsChannel
from tests.unit.webhooks.support import Receiver

pytestmark = pytest.mark.integration
Flows = tuple[Stack, dict[str, FakeSmsChannel]]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """The bank's webhook receiver on 127.0.0.1."""
    async with Receiver() as running:
        yield running


@pytest.fixture
async def flows(database_url: str) -> AsyncIterator[Flows]:
    """Gateway + sandbox with in-memory SMS channels, on SQLite and PostgreSQL."""
    async with flows_stack(database_url) as running:
        yield running


async def _branch(bank: Tenant, name: str = "陆家嘴支行", **extra: Any) -> dict[str, Any]:
    template = await bank.builtin("branch-queue", "平安银行")
    resp = await bank.call("POST", "/push/v1/branches", {"name": name, "templateId": template, **extra})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _ticket(bank: Tenant, branch_id: str, phone: str, **extra: Any) -> dict[str, Any]:
    resp = await bank.call("POST", f"/push/v1/branches/{branch_id}/tickets", {"phoneNumber": phone, **extra})
    assert resp.status_code == 201, resp.text
    body: dict[str, Any] = resp.json()
    return body


async def _sms_to(channels: dict[str, FakeSmsChannel], phone: str, count: int) -> list[str]:
    async with asyncio.timeout(10):
        while True:
            texts = channels["cmcc"].inbox(phone)
            if len(texts) >= count:
                return texts
            await asyncio.sleep(0.05)


async def _session(stack: Stack, channels: dict[str, FakeSmsChannel], phone: str, index: int = 0) -> str:
    text = (await _sms_to(channels, phone, index + 1))[index]
    resp = await redeem(stack, _code_in(text), await h5_token(stack, phone), operator="cmcc")
    assert resp.status_code == 200, resp.text
    assert resp.json()["flow"] == "branch_queue"
    return str(resp.json()["session"])


def _code_in(text: str) -> str:
    start = text.index("/l/")
    return code_of(text[start : start + 25])


async def test_branch_creation_makes_a_call_template(flows: Flows) -> None:
    """A branch created with only its ticket template gets an approved call template (sandbox
    tenant); GET shows the branch; a claim template is refused as the ticket template."""
    stack, _ = flows
    bank = await Tenant.create(stack)

    branch = await _branch(bank)

    assert branch["name"] == "陆家嘴支行" and branch["callTemplateStatus"] == "approved"
    call_template = await bank.call("GET", f"/push/v1/templates/{branch['callTemplateId']}")
    assert call_template.status_code == 200 and call_template.json()["flow"] == "branch_queue"
    got = await bank.call("GET", f"/push/v1/branches/{branch['id']}")
    assert got.status_code == 200 and got.json() == branch
    claim = await bank.builtin("claim-location")
    wrong = await bank.call("POST", "/push/v1/branches", {"name": "x", "templateId": claim})
    assert wrong.status_code == 400 and "branch_queue" in wrong.json()["message"]


async def test_queue_from_ticket_to_call(flows: Flows, receiver: Receiver) -> None:
    """Two tickets (A001, A002) are sent by SMS; the second customer's page shows position 2 and
    the default estimate; call-next calls A001 to counter 3 (SMS + queue.ticket_called) and moves
    the second customer to position 1; the teller's queue masks numbers."""
    stack, channels = flows
    bank = await Tenant.create(stack, receiver)
    branch = await _branch(bank)
    first, second = await stack.subscriber("cmcc"), await stack.subscriber("cmcc")

    one = await _ticket(bank, branch["id"], first, service="对公业务")
    two = await _ticket(bank, branch["id"], second)

    assert (one["ticket"], one["position"], two["ticket"], two["position"]) == ("A001", 1, "A002", 2)
    [sms] = await _sms_to(channels, second, 1)
    assert sms.startswith("【平安银行】") and "A002" in sms and "陆家嘴支行" in sms
    session = await _session(stack, channels, second)
    page = await flow_call(stack, session, "GET", "/flows/v1/branch-queue")
    assert page.status_code == 200, page.text
    assert page.json() == {
        "ticket": "A002",
        "position": 2,
        "estimatedWaitMinutes": 10,
        "status": "waiting",
        "counter": None,
        "branchName": "陆家嘴支行",
        "service": None,
    }
    queue = (await bank.call("GET", f"/push/v1/branches/{branch['id']}/queue")).json()
    assert [(w["ticket"], w["position"]) for w in queue["waiting"]] == [("A001", 1), ("A002", 2)]
    assert queue["waiting"][0]["phoneNumber"] == first[:6] + "****" + first[-4:]
    assert first not in dumps(queue) and second not in dumps(queue)

    called = await bank.call("POST", f"/push/v1/branches/{branch['id']}/call-next", {"counter": 3})

    assert called.status_code == 200, called.text
    assert called.json()["ticket"] == "A001" and called.json()["counter"] == "3"
    assert called.json()["waiting"] == 1
    texts = await _sms_to(channels, first, 2)
    assert "A001" in texts[1] and "3号窗口" in texts[1]
    [event] = await bank.wait_event("queue.ticket_called")
    assert event["data"]["ticket"] == "A001" and event["data"]["counter"] == "3"
    assert event["data"]["messageId"] == one["messageId"] and event["data"]["branchId"] == branch["id"]
    assert first not in dumps(event)
    after = (await flow_call(stack, session, "GET", "/flows/v1/branch-queue")).json()
    assert (after["position"], after["status"]) == (1, "waiting")
    assert (await bank.wait_status(one["messageId"], "completed"))["status"] == "completed"
    call_session = await _session(stack, channels, first, 1)
    mine = (await flow_call(stack, call_session, "GET", "/flows/v1/branch-queue")).json()
    assert (mine["ticket"], mine["status"], mine["counter"], mine["position"]) == (
        "A001",
        "called",
        "3",
        None,
    )


async def test_cancel_leaves_the_queue(flows: Flows, receiver: Receiver) -> None:
    """Cancelling answers the cancelled ticket, publishes queue.ticket_cancelled once (a repeat
    answers the same), empties the queue (call-next 409 QUEUE_EMPTY); a called ticket cannot be
    cancelled (409)."""
    stack, channels = flows
    bank = await Tenant.create(stack, receiver)
    branch = await _branch(bank)
    phone, other = await stack.subscriber("cmcc"), await stack.subscriber("cmcc")
    ticket = await _ticket(bank, branch["id"], phone)
    session = await _session(stack, channels, phone)

    cancelled = await flow_call(stack, session, "POST", "/flows/v1/branch-queue/cancel")
    again = await flow_call(stack, session, "POST", "/flows/v1/branch-queue/cancel")

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert again.status_code == 200 and again.json() == cancelled.json()
    [event] = await bank.wait_event("queue.ticket_cancelled")
    assert event["data"]["ticket"] == ticket["ticket"] and event["data"]["messageId"] == ticket["messageId"]
    empty = await bank.call("POST", f"/push/v1/branches/{branch['id']}/call-next", {"counter": "A1"})
    assert empty.status_code == 409 and empty.json()["code"] == "QUEUE_EMPTY"
    await _ticket(bank, branch["id"], other)
    other_session = await _session(stack, channels, other)
    assert (
        await bank.call("POST", f"/push/v1/branches/{branch['id']}/call-next", {"counter": 1})
    ).status_code == 200
    late = await flow_call(stack, other_session, "POST", "/flows/v1/branch-queue/cancel")
    assert late.status_code == 409 and late.json()["code"] == "FLOW_STATE_CONFLICT"
    await asyncio.sleep(0.3)
    assert len(bank.events("queue.ticket_cancelled")) == 1


async def test_another_tenants_branch_is_404(flows: Flows) -> None:
    """Every branch route answers 404 for another tenant's branch (and for malformed ids), and a
    branch cannot use another tenant's template."""
    stack, _ = flows
    owner, intruder = await Tenant.create(stack), await Tenant.create(stack)
    branch = await _branch(owner)
    phone = random_phone()
    calls = [
        ("GET", f"/push/v1/branches/{branch['id']}", None),
        ("GET", f"/push/v1/branches/{branch['id']}/queue", None),
        ("POST", f"/push/v1/branches/{branch['id']}/tickets", {"phoneNumber": phone}),
        ("POST", f"/push/v1/branches/{branch['id']}/call-next", {"counter": 1}),
        ("GET", "/push/v1/branches/not-a-uuid/queue", None),
    ]
    for method, path, body in calls:
        resp = await intruder.call(method, path, body)
        assert resp.status_code == 404 and resp.json()["code"] == "NOT_FOUND", path
    stolen = await intruder.call(
        "POST", "/push/v1/branches", {"name": "x", "templateId": branch["templateId"]}
    )
    assert stolen.status_code == 404
    assert (await owner.call("GET", f"/push/v1/branches/{branch['id']}/queue")).json()["waiting"] == []


async def test_scope_is_required(flows: Flows) -> None:
    """Without branches:manage the branch API is 403; without a token 401."""
    stack, _ = flows
    creds = await stack.tenant(["push:send"], sandbox=True)
    bearer = await stack.access_token(creds)
    resp = await stack.call("/push/v1/branches", bearer, {"name": "x", "templateId": "y"})
    assert resp.status_code == 403 and resp.json()["code"] == "PERMISSION_DENIED"
    anonymous = await stack.http.post(f"{stack.gateway_url}/push/v1/branches", json={})
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("", {"templateId": "t"}),
        ("", {"name": "", "templateId": "t"}),
        ("", {"name": " 空格", "templateId": "t"}),
        ("", {"name": "a【b】", "templateId": "t"}),
        ("", {"name": "x" * 65, "templateId": "t"}),
        ("", {"name": "x", "templateId": "t", "extra": 1}),
        ("/tickets", {"phoneNumber": "13800138000"}),
        ("/tickets", {"phoneNumber": "+8613800138000", "service": ""}),
        ("/tickets", {"phoneNumber": "+8613800138000", "unknown": True}),
        ("/tickets", {}),
        ("/call-next", {"counter": 0}),
        ("/call-next", {"counter": 1000}),
        ("/call-next", {"counter": ""}),
        ("/call-next", {"counter": "A-1"}),
        ("/call-next", {"counter": "123456789"}),
        ("/call-next", {"counter": True}),
        ("/call-next", {"counter": 1.5}),
        ("/call-next", {}),
        ("/call-next", [1]),
    ],
)
async def test_bad_input_is_400(sqlite_url: str, path: str, body: Any) -> None:
    """Malformed branch, ticket and call-next bodies are 400 INVALID_ARGUMENT, never 500."""
    async with flows_stack(sqlite_url) as (stack, _):
        bank = await Tenant.create(stack)
        branch = await _branch(bank)
        target = "/push/v1/branches" + (f"/{branch['id']}{path}" if path else "")
        resp = await bank.call("POST", target, body)
        assert resp.status_code == 400 and resp.json()["code"] == "INVALID_ARGUMENT", resp.text
        assert "13800138000" not in resp.text


async def test_concurrent_tellers_get_distinct_tickets_and_calls(flows: Flows) -> None:
    """Six tickets issued at once get A001..A006; three tellers calling at once call three
    distinct tickets, the first three in order."""
    stack, _ = flows
    bank = await Tenant.create(stack)
    branch = await _branch(bank)
    phones = [random_phone() for _ in range(6)]

    issued = await asyncio.gather(*(_ticket(bank, branch["id"], p) for p in phones))
    calls = await asyncio.gather(
        *(bank.call("POST", f"/push/v1/branches/{branch['id']}/call-next", {"counter": n}) for n in (1, 2, 3))
    )

    assert sorted(t["ticket"] for t in issued) == [f"A00{n}" for n in range(1, 7)]
    assert sorted(t["position"] for t in issued) == [1, 2, 3, 4, 5, 6]
    assert [c.status_code for c in calls] == [200, 200, 200], [c.text for c in calls]
    assert sorted(c.json()["ticket"] for c in calls) == ["A001", "A002", "A003"]
    waiting = (await bank.call("GET", f"/push/v1/branches/{branch['id']}/queue")).json()["waiting"]
    assert [w["ticket"] for w in waiting] == ["A004", "A005", "A006"]


async def test_ticket_needs_an_approved_template(sqlite_url: str) -> None:
    """A branch of a non-sandbox tenant: tickets fail 422 TEMPLATE_NOT_APPROVED until the admin
    approves the template, and leave no ticket behind; call-next needs the call template approved."""
    async with flows_stack(sqlite_url) as (stack, _):
        bank = await Tenant.create(stack, sandbox=False)
        branch = await _branch(bank)
        assert branch["callTemplateStatus"] == "pending"
        refused = await bank.call(
            "POST", f"/push/v1/branches/{branch['id']}/tickets", {"phoneNumber": random_phone()}
        )
        assert refused.status_code == 422 and refused.json()["code"] == "TEMPLATE_NOT_APPROVED"
        admin = {"Authorization": f"Bearer {stack.admin_token}"}
        approve = f"{stack.gateway_url}/admin/templates/{branch['templateId']}/approve"
        assert (await stack.http.post(approve, headers=admin)).status_code == 200
        assert (await _ticket(bank, branch["id"], random_phone()))["ticket"] == "A001"
        not_yet = await bank.call("POST", f"/push/v1/branches/{branch['id']}/call-next", {"counter": 1})
        assert not_yet.status_code == 422 and not_yet.json()["code"] == "TEMPLATE_NOT_APPROVED"
        assert len((await bank.call("GET", f"/push/v1/branches/{branch['id']}/queue")).json()["waiting"]) == 1
