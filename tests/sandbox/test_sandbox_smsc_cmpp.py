"""The sandbox's China Mobile ISMG over CMPP 2.0 / 3.0 on a real socket (docs/operator-dialects.md,
"China Mobile: CMPP 2.0 / 3.0" and "Long messages"), driven by the test's own SP client."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from pytest_aiohttp import AiohttpClient

from sandbox import SandboxConfig, create_sandbox_app
from sandbox.config import SmscAccount
from sandbox.smsc.cmpp import authenticator_ismg, authenticator_source
from tests.clocks import ManualClock
from tests.sandbox.conftest import Inbox, SandboxClient, Subscribe
from tests.sandbox.smsc_client import (
    CMPP_ACTIVE_TEST,
    CMPP_CONNECT,
    CMPP_DELIVER,
    CMPP_SUBMIT,
    CMPP_TERMINATE,
    RESP,
    SpLink,
    cmpp_connect,
    cmpp_deliver,
    cmpp_deliver_resp,
    cmpp_result,
    cmpp_submit,
    pdu,
)

PHONE = "+8613800138000"
NATIONAL = "13800138000"


@pytest.fixture(autouse=True)
async def close_links() -> AsyncIterator[None]:
    """Close the test's SP connections."""
    yield
    await SpLink.close_all()


@pytest.fixture
def smsc_config(config: SandboxConfig) -> SandboxConfig:
    """Reports at once, ``DELIVER`` answers awaited 0.3 s, ISMG heartbeats after 3 s of silence."""
    return replace(config, report_delay=0.0, smsc_resend_after=0.3, smsc_heartbeat_after=3.0)


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, smsc_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox with fast SMSC timings."""
    return await aiohttp_client(create_sandbox_app(smsc_config, clock=clock))


@pytest.fixture
async def port(client: SandboxClient) -> int:
    """The ISMG's port as the control API tells it."""
    smsc = await (await client.get("/sandbox/smsc")).json()
    number: int = smsc["cmcc"]["port"]
    return number


@pytest.fixture
def account(smsc_config: SandboxConfig) -> SmscAccount:
    """The SP account the ISMG knows."""
    return smsc_config.smsc_accounts["cmcc"]


async def login(port: int, account: SmscAccount, *, version: int = 0x30) -> SpLink:
    """A connection logged in with ``version``."""
    link = await SpLink.open(port)
    await link.send(cmpp_connect(1, account.login, account.secret, version=version))
    answer = await link.read()
    status = answer.body[0] if version == 0x20 else struct.unpack(">I", answer.body[:4])[0]
    assert (answer.command, status) == (CMPP_CONNECT | RESP, 0)
    return link


def submit(account: SmscAccount, sequence: int, **fields: object) -> bytes:
    """A one-part UCS-2 ``SUBMIT`` to the test phone with a report wanted."""
    values: dict[str, object] = {
        "sp_id": account.login,
        "src_id": account.access_number + "01",
        "destinations": (NATIONAL,),
        "content": "您的验证码是 123456".encode("utf-16-be"),
    }
    values.update(fields)
    return cmpp_submit(sequence, **values)  # type: ignore[arg-type]


def test_authenticators_match_the_documented_example() -> None:
    """SP 901234, secret s3cret, 0102150405: the doc's AuthenticatorSource and the ISMG's for 3.0 and 2.0."""
    source = authenticator_source("901234", "s3cret", 102150405)
    assert source.hex() == "46094330b5b7827493084f3698fd0bb2"
    assert authenticator_ismg(0, source, "s3cret", 0x30).hex() == "6872d88e4b3b7ec88d59d63046b199cd"
    assert authenticator_ismg(0, source, "s3cret", 0x20).hex() == "eaaf3f4c9a1287790bcd6db16966a544"


@pytest.mark.parametrize(("version", "length"), [(0x30, 33), (0x20, 30)])
async def test_login_answers_the_ismg_authenticator_in_the_asked_version(
    port: int, account: SmscAccount, version: int, length: int
) -> None:
    """A good CONNECT is answered Status 0 with MD5(Status + AuthenticatorSource + secret), in the
    layout of the version asked for."""
    link = await SpLink.open(port)
    await link.send(cmpp_connect(7, account.login, account.secret, version=version))
    answer = await link.read()
    assert (answer.command, answer.sequence, 12 + len(answer.body)) == (CMPP_CONNECT | RESP, 7, length)
    status_size = 1 if version == 0x20 else 4
    status = answer.body[:status_size]
    source = cmpp_connect(7, account.login, account.secret)[18:34]
    expected = hashlib.md5(status + source + account.secret.encode(), usedforsecurity=False).digest()
    assert status == bytes(status_size)
    assert answer.body[status_size : status_size + 16] == expected
    assert answer.body[-1] == version
    await link.close()


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda raw: raw[:-1], 1),
        (lambda raw: raw[:34] + b"\x21" + raw[35:], 4),
        (lambda raw: raw[:12] + b"999999" + raw[18:], 2),
        (lambda raw: raw[:18] + bytes(16) + raw[34:], 3),
    ],
    ids=["short body", "unknown version", "other SP id", "wrong authenticator"],
)
async def test_refused_logins_answer_their_status_and_close(
    port: int, account: SmscAccount, mutate: object, status: int
) -> None:
    """Bad structure 1, version 4 (in the 3.0 layout), source address 2, authentication 3; then the
    ISMG closes; the authenticator is 16 NULs."""
    raw = cmpp_connect(1, account.login, account.secret)
    bad: bytes = mutate(raw)  # type: ignore[operator]
    bad = struct.pack(">I", len(bad)) + bad[4:]
    link = await SpLink.open(port)
    await link.send(bad)
    answer = await link.read()
    assert answer.command == CMPP_CONNECT | RESP
    assert struct.unpack(">I", answer.body[:4])[0] == status
    assert answer.body[4:20] == bytes(16)
    assert answer.body[20] == 0x30
    assert await link.closed_by_peer()


async def test_any_request_before_login_closes_the_connection(port: int, account: SmscAccount) -> None:
    """A SUBMIT before CONNECT is not answered: the connection closes."""
    link = await SpLink.open(port)
    await link.send(submit(account, 1))
    assert await link.closed_by_peer()


async def test_unknown_command_closes_the_connection(port: int, account: SmscAccount) -> None:
    """QUERY (6) is not served: the ISMG closes without an answer."""
    link = await login(port, account)
    await link.send(pdu(0x00000006, 2, bytes(27)))
    assert await link.closed_by_peer()


@pytest.mark.parametrize("version", [0x30, 0x20])
async def test_submit_reaches_the_inbox_and_is_reported_delivered(
    port: int, account: SmscAccount, subscribe: Subscribe, inbox: Inbox, version: int
) -> None:
    """An accepted SUBMIT gets a fresh Msg_Id, the text reaches the phone from Src_Id, and a status
    report DELIVER names that Msg_Id with DELIVRD; the DELIVER_RESP ends it."""
    await subscribe(PHONE, "cmcc")
    link = await login(port, account, version=version)
    await link.send(submit(account, 2, version=version))
    answer = await link.read()
    assert (answer.command, answer.sequence) == (CMPP_SUBMIT | RESP, 2)
    msg_id, result = cmpp_result(answer.body, version)
    assert result == 0 and msg_id != bytes(8)
    messages = await inbox(PHONE)
    assert [(m["from"], m["text"]) for m in messages] == [
        (account.access_number + "01", "您的验证码是 123456")
    ]
    deliver = await link.read()
    assert deliver.command == CMPP_DELIVER
    fields = cmpp_deliver(deliver.body, version)
    assert fields["registered_delivery"] == 1 and fields["msg_fmt"] == 0
    assert fields["dest_id"] == account.access_number + "01"
    assert fields["src_terminal_id"] == NATIONAL and fields["service_id"] == "MBANK"
    assert fields["report"]["msg_id"] == msg_id
    assert fields["report"]["stat"] == "DELIVRD"
    assert fields["report"]["dest_terminal_id"] == NATIONAL
    assert fields["report"]["submit_time"] == "2603020930"
    assert fields["msg_id"] != msg_id
    await link.send(cmpp_deliver_resp(deliver.sequence, fields["msg_id"], version=version))
    assert await link.silent_for(0.5)


@pytest.mark.parametrize(
    ("fields", "result"),
    [
        ({"destinations": ("13900139000",)}, 13),
        ({"destinations": ()}, 1),
        ({"fmt": 3}, 1),
        ({"sp_id": "000000"}, 11),
        ({"src_id": "10690000"}, 10),
        ({"content": bytes(141)}, 6),
    ],
    ids=[
        "not a subscriber",
        "no destination",
        "unknown Msg_Fmt",
        "other Msg_src",
        "other Src_Id",
        "too long",
    ],
)
async def test_refused_submits_answer_their_result_and_deliver_nothing(
    port: int,
    account: SmscAccount,
    subscribe: Subscribe,
    inbox: Inbox,
    fields: dict[str, object],
    result: int,
) -> None:
    """Each SUBMIT check answers its Result with a zero Msg_Id and nothing reaches the phone."""
    await subscribe(PHONE, "cmcc")
    link = await login(port, account)
    await link.send(submit(account, 2, **fields))
    assert cmpp_result((await link.read()).body) == (bytes(8), result)
    assert await inbox(PHONE) == []
    assert await link.silent_for(0.2)


async def test_another_operators_subscriber_is_not_served(
    port: int, account: SmscAccount, subscribe: Subscribe
) -> None:
    """A number registered with China Telecom answers 13."""
    await subscribe(PHONE, "ctcc")
    link = await login(port, account)
    await link.send(submit(account, 2, destinations=("86" + NATIONAL,)))
    assert cmpp_result((await link.read()).body)[1] == 13


async def test_window_overrun_is_answered_with_flow_control_at_once(
    client: SandboxClient, port: int, account: SmscAccount, subscribe: Subscribe
) -> None:
    """With answers held back, the 17th SUBMIT unanswered on a connection is answered Result 8 before
    the 16 others, which are then accepted."""
    await subscribe(PHONE, "cmcc")
    await client.put("/sandbox/operators/cmcc/faults", json={"answerDelayMs": 400})
    link = await login(port, account)
    await link.send(*(submit(account, sequence, registered_delivery=0) for sequence in range(2, 19)))
    first = await link.read()
    assert first.sequence == 18 and cmpp_result(first.body) == (bytes(8), 8)
    rest = [await link.read() for _ in range(16)]
    assert [answer.sequence for answer in rest] == list(range(2, 18))
    assert all(cmpp_result(answer.body)[1] == 0 for answer in rest)


async def test_long_message_parts_in_any_order_make_one_inbox_message(
    port: int, account: SmscAccount, subscribe: Subscribe, inbox: Inbox
) -> None:
    """Three UCS-2 parts with UDH 05 00 03 ref 3 seq, sent 3-1-2, show once as the whole text; each
    part has its own Msg_Id and report."""
    await subscribe(PHONE, "cmcc")
    text = "".join(chr(0x4E00 + i) for i in range(150))
    units = text.encode("utf-16-be")
    chunks = [units[0:134], units[134:268], units[268:]]
    link = await login(port, account)
    for sequence, seq in enumerate((3, 1, 2), start=2):
        content = bytes((5, 0, 3, 0x2A, 3, seq)) + chunks[seq - 1]
        await link.send(submit(account, sequence, content=content, udhi=1, pk=(3, seq)))
        assert cmpp_result((await link.read_command(CMPP_SUBMIT | RESP)).body)[1] == 0
        if seq != 2:
            assert await inbox(PHONE) == []
    assert [m["text"] for m in await inbox(PHONE)] == [text]
    reports = [cmpp_deliver((await link.read()).body) for _ in range(3)]
    assert len({report["report"]["msg_id"] for report in reports}) == 3


async def test_unanswered_report_is_sent_again_with_a_new_sequence(
    port: int, account: SmscAccount, subscribe: Subscribe
) -> None:
    """A report DELIVER left unanswered comes again (same Msg_Id and content, new Sequence_Id) up to
    3 more times, then no more."""
    await subscribe(PHONE, "cmcc")
    link = await login(port, account)
    await link.send(submit(account, 2))
    await link.read()
    delivers = [await link.read(within=1.0) for _ in range(4)]
    assert {deliver.body for deliver in delivers} == {delivers[0].body}
    assert len({deliver.sequence for deliver in delivers}) == 4
    assert all(deliver.command == CMPP_DELIVER for deliver in delivers)
    assert await link.silent_for(0.6)


async def test_report_goes_to_another_connection_when_its_own_closed(
    client: SandboxClient, port: int, account: SmscAccount, subscribe: Subscribe
) -> None:
    """A report whose submit's connection is gone waits for, and goes on, another logged-in one."""
    await subscribe(PHONE, "cmcc")
    await client.put("/sandbox/operators/cmcc/faults", json={"reportDelayMs": 300})
    first = await login(port, account)
    await first.send(submit(account, 2))
    msg_id, _ = cmpp_result((await first.read()).body)
    await first.close()
    second = await login(port, account)
    deliver = await second.read()
    assert cmpp_deliver(deliver.body)["report"]["msg_id"] == msg_id


async def test_undeliv_fault_reports_undeliv_and_leaves_the_inbox_empty(
    client: SandboxClient, port: int, account: SmscAccount, subscribe: Subscribe, inbox: Inbox
) -> None:
    """Under deliveryReport UNDELIV the SUBMIT is accepted, nothing arrives, the report says UNDELIV."""
    await subscribe(PHONE, "cmcc")
    await client.put("/sandbox/operators/cmcc/faults", json={"deliveryReport": "UNDELIV"})
    link = await login(port, account)
    await link.send(submit(account, 2))
    assert cmpp_result((await link.read()).body)[1] == 0
    assert cmpp_deliver((await link.read()).body)["report"]["stat"] == "UNDELIV"
    assert await inbox(PHONE) == []


async def test_reply_typed_on_the_phone_arrives_as_mo_deliver(
    client: SandboxClient, port: int, account: SmscAccount, subscribe: Subscribe
) -> None:
    """A reply to an SMS that came through CMPP is a DELIVER with Registered_Delivery 0, UCS-2, from
    the phone to the Src_Id replied to; over 70 characters it comes as UDH parts of 67."""
    await subscribe(PHONE, "cmcc")
    link = await login(port, account)
    await link.send(submit(account, 2, registered_delivery=0))
    await link.read()
    response = await client.post(f"/sandbox/devices/{PHONE}/reply", json={"text": "T 退订"})
    assert response.status == 202
    assert (await response.json())["to"] == account.access_number + "01"
    mo = cmpp_deliver((await link.read()).body)
    assert (mo["registered_delivery"], mo["msg_fmt"], mo["tp_udhi"]) == (0, 8, 0)
    assert (mo["src_terminal_id"], mo["dest_id"]) == (NATIONAL, account.access_number + "01")
    assert mo["content"].decode("utf-16-be") == "T 退订"
    long_text = "好" * 100
    await client.post(f"/sandbox/devices/{PHONE}/reply", json={"text": long_text})
    parts = [cmpp_deliver((await link.read()).body) for _ in range(2)]
    headers = [part["content"][:6] for part in parts]
    assert [part["tp_udhi"] for part in parts] == [1, 1]
    assert headers[0][:5] == headers[1][:5] and headers[0][:3] == b"\x05\x00\x03" and headers[0][4] == 2
    assert "".join(part["content"][6:].decode("utf-16-be") for part in parts) == long_text
    assert len(parts[0]["content"]) == 6 + 134


@pytest.fixture
async def quick_port(aiohttp_client: AiohttpClient, smsc_config: SandboxConfig) -> int:
    """The port of an ISMG that sends ACTIVE_TEST after 0.3 s of silence."""
    app = create_sandbox_app(replace(smsc_config, smsc_heartbeat_after=0.3))
    client = await aiohttp_client(app)
    number: int = (await (await client.get("/sandbox/smsc")).json())["cmcc"]["port"]
    return number


async def test_heartbeats_both_ways(quick_port: int, account: SmscAccount) -> None:
    """The SP's ACTIVE_TEST is answered with a 13-byte ACTIVE_TEST_RESP; after its idle time the ISMG
    sends ACTIVE_TEST, and closes the connection after 3 in a row go unanswered."""
    link = await login(quick_port, account)
    await link.send(pdu(CMPP_ACTIVE_TEST, 9, b""))
    answer = await link.read()
    assert (answer.command, answer.sequence, answer.body) == (CMPP_ACTIVE_TEST | RESP, 9, b"\x00")
    tests = [await link.read(within=1.0) for _ in range(3)]
    assert [test.command for test in tests] == [CMPP_ACTIVE_TEST] * 3
    assert await link.closed_by_peer(within=1.0)


async def test_answered_heartbeats_keep_the_connection(quick_port: int, account: SmscAccount) -> None:
    """An SP that answers the ISMG's ACTIVE_TEST keeps its connection; TERMINATE ends it."""
    link = await login(quick_port, account)
    for _ in range(4):
        test = await link.read(within=1.0)
        assert test.command == CMPP_ACTIVE_TEST
        await link.send(pdu(CMPP_ACTIVE_TEST | RESP, test.sequence, b"\x00"))
    await link.send(pdu(CMPP_TERMINATE, 5, b""))
    answer = await link.read()
    assert (answer.command, answer.sequence) == (CMPP_TERMINATE | RESP, 5)
    assert await link.closed_by_peer()


async def test_control_api_names_the_gateways(
    client: SandboxClient, smsc_config: SandboxConfig, port: int
) -> None:
    """GET /sandbox/smsc names protocol, host, the actual port, login and access number, not the secret."""
    view = await (await client.get("/sandbox/smsc")).json()
    account = smsc_config.smsc_accounts["cmcc"]
    assert view["cmcc"] == {
        "protocol": "cmpp",
        "host": "127.0.0.1",
        "port": port,
        "login": account.login,
        "accessNumber": account.access_number,
    }
    assert view["ctcc"]["protocol"] == "smgp" and view["ctcc"]["port"] not in (0, port)
    assert account.secret not in str(view)
