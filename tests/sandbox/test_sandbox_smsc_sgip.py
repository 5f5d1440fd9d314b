"""The sandbox's China Unicom SMG over SGIP 1.2 on real sockets (docs/operator-dialects.md, "China
Unicom: SGIP 1.2", "Long messages" and "The sandbox's gateways"): the test's SP connects to the SMG,
and runs the listener the SMG dials for reports and MO texts."""

from __future__ import annotations

import struct
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from sandbox import SandboxConfig, create_sandbox_app
from sandbox.config import SmscAccount
from tests.clocks import ManualClock
from tests.sandbox.conftest import Inbox, SandboxClient, Subscribe
from tests.sandbox.sgip_client import (
    BIND,
    DELIVER,
    REPORT,
    RESP,
    SUBMIT,
    UNBIND,
    Listener,
    SgipLink,
    bind,
    deliver_fields,
    pdu,
    report_fields,
    resp,
    seq,
    sgip_submit,
)

PHONE = "+8618600186000"
USER = "8618600186000"
SMG_STAMP = 302093015


@pytest.fixture
def smsc_config(config: SandboxConfig) -> SandboxConfig:
    """Reports at once, answers awaited 0.5 s, retries after 0.2 and 0.4 s, idle unbind after 1 s."""
    return replace(
        config,
        report_delay=0.0,
        smsc_resend_after=0.5,
        smsc_heartbeat_after=1.0,
        callback_retry_delays=(0.2, 0.4),
    )


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, smsc_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox with fast SMSC timings."""
    return await aiohttp_client(create_sandbox_app(smsc_config, clock=clock))


@pytest.fixture
async def port(client: SandboxClient, subscribe: Subscribe) -> int:
    """The SMG's port as the control API tells it, with a China Unicom phone registered."""
    await subscribe(PHONE, "cucc")
    number: int = (await (await client.get("/sandbox/smsc")).json())["cucc"]["port"]
    return number


@pytest.fixture
def account(smsc_config: SandboxConfig) -> SmscAccount:
    """The SP account the SMG knows."""
    return smsc_config.smsc_accounts["cucc"]


@pytest.fixture
async def links() -> AsyncIterator[list[SgipLink]]:
    """The test's connections to the SMG, closed at the end."""
    opened: list[SgipLink] = []
    yield opened
    for link in opened:
        await link.close()


@pytest.fixture
async def listener(client: SandboxClient) -> AsyncIterator[Listener]:
    """The SP's listener, on a free port the SMG is pointed at through the control API."""
    running = Listener()
    await running.start()
    answer = await client.put("/sandbox/smsc/cucc/sp-listener", json={"address": f"127.0.0.1:{running.port}"})
    assert answer.status == 200, await answer.text()
    yield running
    await running.stop()


async def login(port: int, account: SmscAccount, links: list[SgipLink]) -> SgipLink:
    """A connection bound with Login_Type 1."""
    link = await SgipLink.open(port)
    links.append(link)
    await link.send(bind(seq(1), account.login, account.secret))
    answer = await link.read()
    assert (answer.command, answer.sequence, answer.result) == (BIND | RESP, seq(1), 0)
    return link


def submit(account: SmscAccount, counter: int, text: str = "您的验证码是 654321", **fields: Any) -> bytes:
    """A one-part UCS-2 ``SUBMIT`` to the test phone with a report always wanted."""
    values: dict[str, Any] = {
        "sp_number": account.access_number,
        "corp_id": account.corp_id,
        "users": (USER,),
        "content": text.encode("utf-16-be"),
    }
    return sgip_submit(seq(counter), **(values | fields))


async def set_faults(client: SandboxClient, **faults: object) -> None:
    answer = await client.put("/sandbox/operators/cucc/faults", json=faults)
    assert answer.status == 200, await answer.text()


async def test_view_shows_the_smg_and_the_listener_it_dials(
    client: SandboxClient, account: SmscAccount
) -> None:
    """GET /sandbox/smsc lists cucc on SGIP with its corp id and spListener (none until set); the PUT
    sets it, null forgets it, and an address that is not host:port is 400."""
    view = (await (await client.get("/sandbox/smsc")).json())["cucc"]
    assert view["protocol"] == "sgip" and view["port"] > 0
    assert (view["login"], view["accessNumber"], view["corpId"], view["spListener"]) == (
        account.login,
        account.access_number,
        account.corp_id,
        None,
    )
    answer = await client.put("/sandbox/smsc/cucc/sp-listener", json={"address": "127.0.0.1:9"})
    assert (await answer.json())["spListener"] == "127.0.0.1:9"
    answer = await client.put("/sandbox/smsc/cucc/sp-listener", json={"address": None})
    assert (await answer.json())["spListener"] is None
    for bad in ({"address": "127.0.0.1"}, {"address": "h:70000"}, {}, {"address": "a:1", "x": 1}):
        assert (await client.put("/sandbox/smsc/cucc/sp-listener", json=bad)).status == 400


async def test_bind_answers_result_0_with_the_sequence(
    port: int, account: SmscAccount, links: list[SgipLink]
) -> None:
    """BIND_RESP is 29 bytes: Result 0 and 8 reserved bytes, under the BIND's 12-byte sequence."""
    link = await login(port, account, links)
    assert link is links[0]


@pytest.mark.parametrize(
    ("make", "result"),
    [
        (lambda a: bind(seq(1), a.login, a.secret + "x"), 1),
        (lambda a: bind(seq(1), a.login + "x", a.secret), 1),
        (lambda a: bind(seq(1), a.login, a.secret, login_type=2), 4),
    ],
    ids=["wrong password", "unknown name", "Login_Type 2 on the SMG's port"],
)
async def test_refused_binds_answer_their_result_and_close(
    port: int, account: SmscAccount, links: list[SgipLink], make: Any, result: int
) -> None:
    """A wrong name or password is Result 1, a Login_Type the port does not serve 4; then closed."""
    link = await SgipLink.open(port)
    links.append(link)
    await link.send(make(account))
    answer = await link.read()
    assert (answer.command, answer.result) == (BIND | RESP, result)
    assert await link.closed_by_peer()


async def test_refuse_login_fault_and_a_second_bind(
    client: SandboxClient, port: int, account: SmscAccount, links: list[SgipLink]
) -> None:
    """refuseLogin: correct credentials answer Result 1 and close; without it a second BIND on a bound
    connection answers 2 and the connection stays bound."""
    await set_faults(client, refuseLogin=True)
    link = await SgipLink.open(port)
    links.append(link)
    await link.send(bind(seq(1), account.login, account.secret))
    assert (await link.read()).result == 1
    assert await link.closed_by_peer()
    await client.delete("/sandbox/operators/cucc/faults")
    link = await login(port, account, links)
    await link.send(bind(seq(2), account.login, account.secret))
    assert (await link.read()).result == 2
    await link.send(submit(account, 3, report_flag=2))
    assert (await link.read()).result == 0


async def test_anything_before_bind_or_an_unknown_command_closes(
    port: int, account: SmscAccount, links: list[SgipLink]
) -> None:
    """A SUBMIT before BIND, or an unknown Command_ID after it, closes the connection unanswered."""
    link = await SgipLink.open(port)
    links.append(link)
    await link.send(submit(account, 1))
    assert await link.closed_by_peer()
    link = await login(port, account, links)
    await link.send(pdu(0x00000077, seq(2), b""))
    assert await link.closed_by_peer()


async def test_submit_reaches_the_inbox_and_the_report_comes_through_the_sp_listener(
    port: int, account: SmscAccount, links: list[SgipLink], listener: Listener, inbox: Inbox
) -> None:
    """An accepted SUBMIT shows in the inbox from SPNumber; the SMG dials the SP's listener, binds with
    Login_Type 2 and the account, sends a 64-byte REPORT naming the SUBMIT's 12-byte sequence (State 0),
    and after its idle time sends UNBIND and closes once answered."""
    link = await login(port, account, links)
    await link.send(submit(account, 7))
    answer = await link.read()
    assert (answer.command, answer.sequence, answer.result) == (SUBMIT | RESP, seq(7), 0)
    assert [(m["from"], m["text"]) for m in await inbox(PHONE)] == [
        (account.access_number, "您的验证码是 654321")
    ]
    smg = await listener.bound(account.login, account.secret)
    report = await smg.read()
    assert (report.command, len(report.body) + 20) == (REPORT, 64)
    assert struct.unpack(">III", report.sequence)[:2] == (101001, SMG_STAMP)
    assert report_fields(report.body) == {
        "submit_sequence": seq(7),
        "report_type": 0,
        "user_number": USER,
        "state": 0,
        "error_code": 0,
        "reserve": bytes(8),
    }
    await smg.send(resp(REPORT, report.sequence))
    unbind = await smg.read(within=2.0)
    assert (unbind.command, unbind.body) == (UNBIND, b"")
    await smg.send(pdu(UNBIND | RESP, unbind.sequence, b""))
    assert await smg.closed_by_peer()


async def test_undelivered_report_and_report_flags(
    client: SandboxClient,
    port: int,
    account: SmscAccount,
    links: list[SgipLink],
    listener: Listener,
    inbox: Inbox,
) -> None:
    """deliveryReport UNDELIV: nothing reaches the inbox and the REPORT says State 2, ErrorCode 25 for
    ReportFlag 0 (failures only); ReportFlag 2 gets no REPORT."""
    await set_faults(client, deliveryReport="UNDELIV")
    link = await login(port, account, links)
    await link.send(submit(account, 2, report_flag=2), submit(account, 3, report_flag=0))
    assert [(await link.read()).result for _ in range(2)] == [0, 0]
    smg = await listener.bound(account.login, account.secret)
    report = await smg.read()
    fields = report_fields(report.body)
    assert (fields["submit_sequence"], fields["state"], fields["error_code"]) == (seq(3), 2, 25)
    await smg.send(resp(REPORT, report.sequence))
    assert (await smg.read(within=2.0)).command == UNBIND
    assert await inbox(PHONE) == []


async def test_unanswered_report_is_sent_again_with_the_same_sequence_then_given_up(
    port: int, account: SmscAccount, links: list[SgipLink], listener: Listener
) -> None:
    """A REPORT left unanswered 0.5 s: the SMG closes, dials again after the first retry delay and
    sends it with the same sequence; one answered Result 1 is sent again too; after the retry delays
    run out (three sends in all) nothing more comes."""
    link = await login(port, account, links)
    await link.send(submit(account, 2))
    await link.read()
    first = await listener.bound(account.login, account.secret)
    sent = await first.read()
    assert await first.closed_by_peer(within=2.0)
    started = time.monotonic()
    second = await listener.bound(account.login, account.secret)
    assert time.monotonic() - started >= 0.15
    again = await second.read()
    assert (again.command, again.sequence, again.body) == (REPORT, sent.sequence, sent.body)
    await second.send(resp(REPORT, again.sequence, 1))
    third = await second.read(within=2.0)
    assert (third.command, third.sequence) == (REPORT, sent.sequence)
    await second.send(resp(REPORT, third.sequence, 1))
    assert (await second.read(within=2.0)).command == UNBIND


async def test_smg_holds_reports_until_a_listener_is_set(
    client: SandboxClient, port: int, account: SmscAccount, links: list[SgipLink]
) -> None:
    """Without an SP listener the REPORT waits; once the listener is set it arrives there."""
    link = await login(port, account, links)
    await link.send(submit(account, 2))
    await link.read()
    late = Listener()
    await late.start()
    try:
        await client.put("/sandbox/smsc/cucc/sp-listener", json={"address": f"127.0.0.1:{late.port}"})
        smg = await late.bound(account.login, account.secret)
        assert report_fields((await smg.read()).body)["submit_sequence"] == seq(2)
    finally:
        await late.stop()


async def test_refused_listener_bind_is_retried(
    port: int, account: SmscAccount, links: list[SgipLink], listener: Listener
) -> None:
    """A listener answering the SMG's BIND with Result 1 is dialled again after the retry delay."""
    link = await login(port, account, links)
    await link.send(submit(account, 2))
    await link.read()
    refused = await listener.next_link()
    request = await refused.read()
    await refused.send(resp(BIND, request.sequence, 1))
    smg = await listener.bound(account.login, account.secret)
    assert (await smg.read()).command == REPORT


@pytest.mark.parametrize(
    ("fields", "result"),
    [
        ({"sp_number": "10790001"}, 5),
        ({"corp_id": "other"}, 5),
        ({"service_type": ""}, 5),
        ({"users": ()}, 5),
        ({"report_flag": 3}, 5),
        ({"coding": 4}, 5),
        ({"udhi": 1}, 5),
        ({"charge": "123"}, 6),
        ({"users": ("18600186000",)}, 6),
        ({"users": ("8618600186999",)}, 6),
        ({"content": b""}, 8),
        ({"content": bytes(142)}, 8),
    ],
    ids=[
        "SPNumber",
        "CorpId",
        "ServiceType",
        "UserCount 0",
        "ReportFlag",
        "MessageCoding",
        "TP_udhi without header",
        "ChargeNumber",
        "no 86",
        "not a subscriber",
        "empty",
        "too long",
    ],
)
async def test_refused_submits_answer_the_documented_result(
    port: int, account: SmscAccount, links: list[SgipLink], inbox: Inbox, fields: dict[str, Any], result: int
) -> None:
    """Each SUBMIT check answers its Result; nothing reaches the inbox; the connection stays."""
    if fields == {"corp_id": "other"}:
        fields = {"corp_id": f"{(int(str(account.corp_id)) + 1) % 100_000:05d}"}
    link = await login(port, account, links)
    await link.send(submit(account, 2, **fields))
    assert (await link.read()).result == result
    assert await inbox(PHONE) == []
    await link.send(submit(account, 3, report_flag=2))
    assert (await link.read()).result == 0


async def test_repeated_sequence_is_answered_without_acting_twice(
    port: int, account: SmscAccount, links: list[SgipLink], inbox: Inbox
) -> None:
    """A SUBMIT resent with its sequence and body is answered 0 and delivered once (also on a new
    connection); with another body under that sequence it is answered 9."""
    link = await login(port, account, links)
    await link.send(submit(account, 2, "one", report_flag=2))
    assert (await link.read()).result == 0
    again = await login(port, account, links)
    await again.send(submit(account, 2, "one", report_flag=2))
    assert (await again.read()).result == 0
    await again.send(submit(account, 2, "two", report_flag=2))
    assert (await again.read()).result == 9
    assert [m["text"] for m in await inbox(PHONE)] == ["one"]


async def test_window_overrun_answers_11_at_once(
    client: SandboxClient, port: int, account: SmscAccount, links: list[SgipLink]
) -> None:
    """With answers held back, the 33rd SUBMIT unanswered on a connection is answered 11 at once; the
    32 before it are accepted."""
    await set_faults(client, answerDelayMs=500)
    link = await login(port, account, links)
    await link.send(*(submit(account, counter, report_flag=2) for counter in range(2, 34)))
    await link.send(submit(account, 99, report_flag=2))
    overrun = await link.read(within=0.4)
    assert (overrun.sequence, overrun.result) == (seq(99), 11)
    rest = [await link.read() for _ in range(32)]
    assert [answer.sequence for answer in rest] == [seq(counter) for counter in range(2, 34)]
    assert {answer.result for answer in rest} == {0}


async def test_long_message_makes_one_inbox_message(
    port: int, account: SmscAccount, links: list[SgipLink], inbox: Inbox
) -> None:
    """Two UCS-2 parts with TP_udhi 1 and the 05 00 03 header, sent 2-1, show once as the whole text."""
    text = "【联通】" + "您的账单已出账" * 12
    units = text.encode("utf-16-be")
    chunks = [units[:134], units[134:]]
    link = await login(port, account, links)
    for counter, part in ((2, 2), (3, 1)):
        content = bytes((5, 0, 3, 9, 2, part)) + chunks[part - 1]
        await link.send(
            sgip_submit(
                seq(counter),
                sp_number=account.access_number,
                corp_id=str(account.corp_id),
                users=(USER,),
                content=content,
                udhi=1,
                report_flag=2,
            )
        )
        assert (await link.read()).result == 0
    assert [m["text"] for m in await inbox(PHONE)] == [text]


async def test_reply_typed_on_the_phone_arrives_as_deliver_at_the_listener(
    client: SandboxClient, port: int, account: SmscAccount, links: list[SgipLink], listener: Listener
) -> None:
    """A reply to an SMS that came through SGIP is a DELIVER on the SMG's connection to the listener:
    UserNumber 86 + the phone, SPNumber the number replied to, MessageCoding 8; a long reply comes
    as parts with TP_udhi 1."""
    link = await login(port, account, links)
    await link.send(submit(account, 2, report_flag=2))
    await link.read()
    assert (await client.post(f"/sandbox/devices/{PHONE}/reply", json={"text": "TD"})).status == 202
    smg = await listener.bound(account.login, account.secret)
    mo = await smg.read()
    assert mo.command == DELIVER
    assert deliver_fields(mo.body) == {
        "user_number": USER,
        "sp_number": account.access_number,
        "tp_pid": 0,
        "tp_udhi": 0,
        "coding": 8,
        "content": "TD".encode("utf-16-be"),
    }
    await smg.send(resp(DELIVER, mo.sequence))
    await client.post(f"/sandbox/devices/{PHONE}/reply", json={"text": "谢" * 71})
    parts = [deliver_fields((await smg.read()).body) for _ in range(2)]
    assert [part["tp_udhi"] for part in parts] == [1, 1]
    assert "".join(part["content"][6:].decode("utf-16-be") for part in parts) == "谢" * 71


async def test_unbind_from_the_sp_is_answered_and_closed(
    port: int, account: SmscAccount, links: list[SgipLink]
) -> None:
    """UNBIND on the SMG's port: UNBIND_RESP (header only) under its sequence, then the SMG closes."""
    link = await login(port, account, links)
    await link.send(pdu(UNBIND, seq(5), b""))
    answer = await link.read()
    assert (answer.command, answer.sequence, answer.body) == (UNBIND | RESP, seq(5), b"")
    assert await link.closed_by_peer()


async def test_flow_control_faults_answer_11(
    client: SandboxClient, port: int, account: SmscAccount, links: list[SgipLink], inbox: Inbox
) -> None:
    """flowControlRate 1 answers every SUBMIT 11, undelivered; submitsPerSecond 1 lets one of two through."""
    await set_faults(client, flowControlRate=1.0)
    link = await login(port, account, links)
    await link.send(submit(account, 2))
    assert (await link.read()).result == 11
    assert await inbox(PHONE) == []
    await set_faults(client, flowControlRate=0.0, submitsPerSecond=1)
    await link.send(submit(account, 3, report_flag=2), submit(account, 4, report_flag=2))
    assert [(await link.read()).result for _ in range(2)] == [0, 11]


async def test_silent_and_drop_window_faults(
    client: SandboxClient, port: int, account: SmscAccount, links: list[SgipLink], inbox: Inbox
) -> None:
    """silent: a SUBMIT gets no answer and nothing is delivered. dropWindow 2: the connection closes
    with two SUBMITs unanswered and undelivered, and the fault clears itself."""
    link = await login(port, account, links)
    await set_faults(client, silent=True)
    await link.send(submit(account, 2))
    assert await link.silent_for(0.4)
    await set_faults(client, silent=False, dropWindow=2)
    await link.send(submit(account, 3), submit(account, 4))
    assert await link.closed_by_peer()
    assert await inbox(PHONE) == []
    assert (await (await client.get("/sandbox/operators/cucc/faults")).json())["dropWindow"] == 0


async def test_silent_smg_dials_nothing_until_cleared(
    client: SandboxClient, port: int, account: SmscAccount, links: list[SgipLink], listener: Listener
) -> None:
    """A REPORT that falls due under silent is not sent (the SMG does not dial); once the fault is
    cleared it arrives."""
    await set_faults(client, reportDelayMs=200)
    link = await login(port, account, links)
    await link.send(submit(account, 2))
    await link.read()
    await set_faults(client, silent=True)
    with pytest.raises(TimeoutError):
        await listener.next_link(within=0.6)
    await client.delete("/sandbox/operators/cucc/faults")
    smg = await listener.bound(account.login, account.secret)
    assert (await smg.read()).command == REPORT


async def test_answer_and_report_delays(
    client: SandboxClient, port: int, account: SmscAccount, links: list[SgipLink], listener: Listener
) -> None:
    """answerDelayMs 300 holds the SUBMIT_RESP; reportDelayMs 400 holds the REPORT after it."""
    await set_faults(client, answerDelayMs=300, reportDelayMs=400)
    link = await login(port, account, links)
    started = time.monotonic()
    await link.send(submit(account, 2))
    assert (await link.read()).result == 0
    assert time.monotonic() - started >= 0.25
    smg = await listener.bound(account.login, account.secret)
    assert (await smg.read()).command == REPORT
    assert time.monotonic() - started >= 0.35


async def test_duplicate_reports_come_under_two_sequences(
    client: SandboxClient, port: int, account: SmscAccount, links: list[SgipLink], listener: Listener
) -> None:
    """duplicateReports: the SUBMIT's REPORT comes twice, under two sequences of the SMG's own."""
    await set_faults(client, duplicateReports=True)
    link = await login(port, account, links)
    await link.send(submit(account, 2))
    await link.read()
    smg = await listener.bound(account.login, account.secret)
    twice = [await smg.read() for _ in range(2)]
    assert [report_fields(r.body)["submit_sequence"] for r in twice] == [seq(2), seq(2)]
    assert twice[0].sequence != twice[1].sequence
    await smg.send(*(resp(REPORT, r.sequence) for r in twice))
    assert (await smg.read(within=2.0)).command == UNBIND


async def test_reordered_reports_come_newest_first(
    client: SandboxClient, port: int, account: SmscAccount, links: list[SgipLink], listener: Listener
) -> None:
    """reorderReports: the REPORTs of three SUBMITs sent together come newest first."""
    await set_faults(client, reorderReports=True)
    link = await login(port, account, links)
    await link.send(*(submit(account, counter) for counter in (3, 4, 5)))
    assert [(await link.read()).result for _ in range(3)] == [0, 0, 0]
    smg = await listener.bound(account.login, account.secret)
    reported = [report_fields((await smg.read()).body)["submit_sequence"] for _ in range(3)]
    assert reported == [seq(5), seq(4), seq(3)]
