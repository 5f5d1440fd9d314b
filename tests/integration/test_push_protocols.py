"""Push over an operator's binary protocol, end to end: the gateway (API, dispatch worker, report
sink) with GATEWAY_CMCC_SMS_URL pointing at an independently written CMPP ISMG (tests/peers) over
127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from tests.integration.test_push import Bank, _eventually, _phone
from tests.leaks import SENSITIVE
from tests.peers.cmpp_ismg import CmppIsmg
from tests.stack import Stack, open_stack

pytestmark = pytest.mark.integration


@asynccontextmanager
async def _cmpp_stack(url: str) -> AsyncIterator[tuple[Stack, CmppIsmg]]:
    ismg = CmppIsmg()
    await ismg.start()
    sms_url = f"cmpp://{ismg.sp_id}:{ismg.secret}@127.0.0.1:{ismg.port}?src_id={ismg.access}&connections=1"
    try:
        async with open_stack(url, cmcc_sms_url=sms_url, push_dispatch_poll_seconds=0.05) as stack:
            yield stack, ismg
    finally:
        await ismg.stop()


async def test_a_long_message_leaves_as_cmpp_parts_and_is_delivered_by_their_reports(
    database_url: str,
) -> None:
    """A 2-part message is submitted as two CMPP SUBMITs of one reference; one part's report keeps it
    submitted, the second delivers it; both DELIVERs are answered after they were stored."""
    async with _cmpp_stack(database_url) as (stack, ismg):
        bank = await Bank.create(stack)
        template = await bank.template()
        message_id = await bank.queued(template, _phone("138"), params={"claimNo": "理赔" * 30})

        async def submitted() -> bool:
            return await bank.status(message_id) == "submitted"

        await _eventually(submitted)
        assert [(s.pk_total, s.pk_number, s.tp_udhi, s.msg_fmt) for s in ismg.submits] == [
            (2, 1, 1, 8),
            (2, 2, 1, 8),
        ]
        assert (
            ismg.submits[0].content[:5]
            == ismg.submits[1].content[:5]
            == bytes([5, 0, 3, ismg.submits[0].content[3], 2])
        )

        ismg.send_report(ismg.submits[0])
        await _eventually(lambda: _answered(ismg, 1))
        assert await bank.status(message_id) == "submitted"
        ismg.send_report(ismg.submits[1])

        async def delivered() -> bool:
            return await bank.status(message_id) == "delivered"

        await _eventually(delivered)
        view = await bank.message(message_id)
        assert view["operator"] == "cmcc" and [e["type"] for e in view["events"]] == [
            "queued",
            "submitted",
            "delivered",
        ]
        await _eventually(lambda: _answered(ismg, 2))
        assert all(result == 0 for _, _, result in ismg.deliver_answers)


async def test_an_undelivered_report_fails_the_message_with_the_operators_word(database_url: str) -> None:
    """A CMPP status report UNDELIV fails the message with failureReason UNDELIV."""
    async with _cmpp_stack(database_url) as (stack, ismg):
        bank = await Bank.create(stack)
        message_id = await bank.queued(await bank.template(), _phone("139"))
        await _eventually(lambda: _count(ismg, 1))
        ismg.send_report(ismg.submits[0], stat="UNDELIV")

        async def failed() -> bool:
            return await bank.status(message_id) == "failed"

        await _eventually(failed)
        assert (await bank.message(message_id))["failureReason"] == "UNDELIV"


async def _answered(ismg: CmppIsmg, count: int) -> bool:
    return len(ismg.deliver_answers) >= count


async def _count(ismg: CmppIsmg, count: int) -> bool:
    return len(ismg.submits) >= count


async def test_messages_wait_while_the_ismg_refuses_logins_and_go_out_once_it_is_back(
    own_database_url: str,
) -> None:
    """The sandbox ISMG drops the connection with a submit in flight and refuses new logins: the
    messages stay queued (retried, nothing delivered); once logins work again each one is delivered,
    and the part lost in the dropped window arrives at most once more (same text and link)."""
    async with open_stack(
        own_database_url,
        sms_options={"connections": "1"},
        push_dispatch_poll_seconds=0.05,
        push_retry_base_seconds=0.2,
        push_retry_max_seconds=0.5,
    ) as stack:
        bank = await Bank.create(stack)
        template = await bank.template()
        phones = [await stack.subscriber("cmcc") for _ in range(3)]
        await stack.faults("cmcc", refuseLogin=True, dropWindow=1)
        ids = [await bank.queued(template, phone) for phone in phones]

        async def retried() -> bool:
            return all(
                [any(e["type"] == "submit_failed" for e in (await bank.message(m))["events"]) for m in ids]
            )

        await _eventually(retried, within=20)
        assert {await bank.status(m) for m in ids} == {"queued"}
        await stack.http.delete(f"{stack.sandbox_url}/sandbox/operators/cmcc/faults")

        async def delivered() -> bool:
            return {await bank.status(m) for m in ids} == {"delivered"}

        await _eventually(delivered, within=40)
        for phone, message_id in zip(phones, ids, strict=True):
            resp = await stack.http.get(f"{stack.sandbox_url}/sandbox/devices/{phone}/messages")
            texts = [m["text"] for m in resp.json()]
            link = (await bank.message(message_id))["link"]
            assert len(texts) >= 1 and all(link in text for text in texts)


async def test_each_operator_delivers_over_its_own_protocol_in_the_sandbox(own_database_url: str) -> None:
    """By default the stack sends cmcc over CMPP, cucc over SGIP (reports through the gateway's
    listener), ctcc over SMGP and a number outside +86 over SMPP; each message reaches the phone's
    inbox with its link and ends delivered."""
    async with open_stack(own_database_url, push_dispatch_poll_seconds=0.05) as stack:
        bank = await Bank.create(stack)
        template = await bank.template()
        abroad = "+447400" + f"{secrets.randbelow(10**6):06d}"
        SENSITIVE.add(abroad)
        created = await stack.http.post(
            f"{stack.sandbox_url}/sandbox/subscribers", json={"phoneNumber": abroad, "operator": "cmcc"}
        )
        assert created.status_code == 201, created.text
        phones = {op: await stack.subscriber(op) for op in ("cmcc", "cucc", "ctcc")} | {"intl": abroad}
        ids = {op: await bank.queued(template, phone) for op, phone in phones.items()}

        async def delivered() -> bool:
            return {await bank.status(m) for m in ids.values()} == {"delivered"}

        with contextlib.suppress(AssertionError):
            await _eventually(delivered, within=30)
        assert {op: await bank.status(m) for op, m in ids.items()} == dict.fromkeys(ids, "delivered")
        for op, message_id in ids.items():
            view = await bank.message(message_id)
            assert view["operator"] == op
            inbox = (
                await stack.http.get(f"{stack.sandbox_url}/sandbox/devices/{phones[op]}/messages")
            ).json()
            assert [view["link"] in m["text"] for m in inbox] == [True]
