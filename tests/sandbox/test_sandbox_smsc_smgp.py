"""The sandbox's China Telecom SMGW over SMGP 3.0 on a real socket (docs/operator-dialects.md,
"SMGP 3.0 (China Telecom SMGW)" and "Long messages"), driven by the test's own SP client."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from pytest_aiohttp import AiohttpClient

from sandbox import SandboxConfig, create_sandbox_app
from sandbox.config import SmscAccount
from sandbox.smsc.smgp import authenticator_client, authenticator_server
from tests.clocks import ManualClock
from tests.sandbox.conftest import Inbox, SandboxClient, Subscribe
from tests.sandbox.smsc_client import (
    RESP,
    SMGP_ACTIVE_TEST,
    SMGP_DELIVER,
    SMGP_EXIT,
    SMGP_LOGIN,
    SMGP_SUBMIT,
    Pdu,
    SpLink,
    pdu,
    smgp_deliver,
    smgp_deliver_resp,
    smgp_login,
    smgp_submit,
    tlv,
)

PHONE = "+8618900189000"
NATIONAL = "18900189000"


@pytest.fixture(autouse=True)
async def close_links() -> AsyncIterator[None]:
    """Close the test's SP connections."""
    yield
    await SpLink.close_all()


@pytest.fixture
def smsc_config(config: SandboxConfig) -> SandboxConfig:
    """Reports at once, ``DELIVER`` answers awaited 0.3 s."""
    return replace(config, report_delay=0.0, smsc_resend_after=0.3)


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, smsc_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox with fast SMSC timings."""
    return await aiohttp_client(create_sandbox_app(smsc_config, clock=clock))


@pytest.fixture
async def port(client: SandboxClient) -> int:
    """The SMGW's port as the control API tells it."""
    number: int = (await (await client.get("/sandbox/smsc")).json())["ctcc"]["port"]
    return number


@pytest.fixture
def account(smsc_config: SandboxConfig) -> SmscAccount:
    """The SP account the SMGW knows."""
    return smsc_config.smsc_accounts["ctcc"]


async def login(port: int, account: SmscAccount, *, mode: int = 2) -> SpLink:
    """A connection logged in with ``mode``."""
    link = await SpLink.open(port)
    await link.send(smgp_login(1, account.login, account.secret, mode=mode))
    answer = await link.read()
    assert (answer.command, answer.body[:4]) == (SMGP_LOGIN | RESP, bytes(4))
    return link


def submit(account: SmscAccount, sequence: int, **fields: object) -> bytes:
    """A one-part UCS-2 ``SUBMIT`` to the test phone with a report wanted."""
    values: dict[str, object] = {
        "src": account.access_number,
        "destinations": (NATIONAL,),
        "content": "您的验证码是 654321".encode("utf-16-be"),
    }
    values.update(fields)
    return smgp_submit(sequence, **values)  # type: ignore[arg-type]


def status_of(body: bytes) -> tuple[bytes, int]:
    """``(MsgID, Status)`` of a ``SUBMIT_RESP``."""
    assert len(body) == 14
    return body[:10], struct.unpack(">I", body[10:])[0]


def test_authenticators_match_the_documented_example() -> None:
    """ClientID 10690001, secret ``secret``, 301000000: the doc's two authenticators."""
    client = authenticator_client("10690001", "secret", 301000000)
    assert client.hex() == "03a527434681556524840aeb8c42fbe9"
    assert authenticator_server(0, client, "secret").hex() == "bfe79cb06a51e29af5d8c5a094b77b19"


async def test_login_answers_status_0_and_the_server_authenticator(port: int, account: SmscAccount) -> None:
    """LOGIN_RESP (33 bytes): Status 0, MD5(Status + AuthenticatorClient + secret), version 0x30."""
    link = await SpLink.open(port)
    raw = smgp_login(5, account.login, account.secret)
    await link.send(raw)
    answer = await link.read()
    assert (answer.command, answer.sequence, len(answer.body)) == (SMGP_LOGIN | RESP, 5, 21)
    expected = hashlib.md5(bytes(4) + raw[20:36] + account.secret.encode(), usedforsecurity=False).digest()
    assert answer.body == bytes(4) + expected + b"\x30"


@pytest.mark.parametrize(
    ("raw", "status", "closes"),
    [
        (lambda a: smgp_login(1, a.login, a.secret + "x"), 21, True),
        (lambda a: smgp_login(1, "1", a.secret), 21, True),
        (lambda a: smgp_login(1, a.login, a.secret, version=0x31), 22, False),
    ],
    ids=["wrong secret", "unknown ClientID", "version too high"],
)
async def test_refused_logins(
    port: int, account: SmscAccount, raw: object, status: int, closes: bool
) -> None:
    """21 for a wrong authenticator or ClientID (then closed), 22 for a ClientVersion above 0x30;
    the server authenticator is 16 NULs."""
    link = await SpLink.open(port)
    await link.send(raw(account))  # type: ignore[operator]
    answer = await link.read()
    assert answer.body == struct.pack(">I", status) + bytes(16) + b"\x30"
    if closes:
        assert await link.closed_by_peer()
    else:
        await link.send(submit(account, 2))
        assert await link.closed_by_peer()


async def test_submit_reaches_the_inbox_and_is_reported_in_the_122_byte_layout(
    port: int, account: SmscAccount, subscribe: Subscribe, inbox: Inbox
) -> None:
    """An accepted SUBMIT gets a BCD MsgID of SMGW 000001, the text reaches the phone, and a report
    DELIVER (IsReport 1) carries id:<binary MsgID> ... stat:DELIVRD err:000 in 122 bytes."""
    await subscribe(PHONE, "ctcc")
    link = await login(port, account)
    await link.send(submit(account, 2))
    answer = await link.read()
    msg_id, status = status_of(answer.body)
    assert (answer.command, answer.sequence, status) == (SMGP_SUBMIT | RESP, 2, 0)
    assert msg_id.hex().startswith("00000103020930")
    assert [(m["from"], m["text"]) for m in await inbox(PHONE)] == [
        (account.access_number, "您的验证码是 654321")
    ]
    deliver = await link.read()
    fields = smgp_deliver(deliver.body)
    assert (deliver.command, fields["is_report"], fields["msg_format"]) == (SMGP_DELIVER, 1, 0)
    assert (fields["src_term_id"], fields["dest_term_id"]) == (NATIONAL, account.access_number)
    report = fields["content"]
    assert len(report) == 122
    assert report[:3] == b"id:" and report[3:13] == msg_id
    assert report[13:] == (
        b" sub:001 dlvrd:001 Submit date:2603020930 done date:2603020930 stat:DELIVRD err:000 Text:"
        + bytes(20)
    )
    assert fields["recv_time"] == "20260302093015"
    await link.send(smgp_deliver_resp(deliver.sequence, fields["msg_id"]))
    assert await link.silent_for(0.5)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"destinations": ()}, 10),
        ({"tlvs": b"\x00\x02\x00"}, 10),
        ({"tlvs": tlv(0x0002, b"\x01")}, 10),
        ({"msg_type": 7}, 30),
        ({"priority": 4}, 31),
        ({"fmt": 3}, 34),
        ({"content": b""}, 36),
        ({"content": bytes(141)}, 36),
        ({"src": "10790001"}, 46),
        ({"destinations": (NATIONAL, NATIONAL)}, 10),
        ({"destinations": ("8618900189000",)}, 47),
        ({"destinations": ("18900189999",)}, 58),
    ],
    ids=[
        "no destination",
        "cut TLV",
        "udhi without header",
        "MsgType",
        "Priority",
        "MsgFormat",
        "empty",
        "too long",
        "SrcTermID",
        "two destinations",
        "not 11 digits",
        "not a subscriber",
    ],
)
async def test_refused_submits_answer_their_status(
    port: int,
    account: SmscAccount,
    subscribe: Subscribe,
    inbox: Inbox,
    fields: dict[str, object],
    status: int,
) -> None:
    """Each check of the doc's table answers its Status with 10 NUL bytes for MsgID; nothing arrives."""
    await subscribe(PHONE, "ctcc")
    link = await login(port, account)
    await link.send(submit(account, 2, **fields))
    assert status_of((await link.read()).body) == (bytes(10), status)
    assert await inbox(PHONE) == []


async def test_window_overrun_and_repeated_sequence(
    client: SandboxClient, port: int, account: SmscAccount, subscribe: Subscribe
) -> None:
    """With answers held back, a SequenceID still unanswered is answered 12 and the 17th request
    unanswered is answered 1 (system busy), both at once; the first 16 are accepted."""
    await subscribe(PHONE, "ctcc")
    await client.put("/sandbox/operators/ctcc/faults", json={"answerDelayMs": 400})
    link = await login(port, account)
    await link.send(*(submit(account, sequence, need_report=0) for sequence in range(2, 18)))
    await link.send(submit(account, 2, need_report=0))
    repeated = await link.read()
    assert (repeated.sequence, status_of(repeated.body)[1]) == (2, 12)
    await link.send(submit(account, 99, need_report=0))
    overrun = await link.read()
    assert (overrun.sequence, status_of(overrun.body)) == (99, (bytes(10), 1))
    rest = [await link.read() for _ in range(16)]
    assert [answer.sequence for answer in rest] == list(range(2, 18))
    assert {status_of(answer.body)[1] for answer in rest} == {0}


async def test_long_message_with_tlvs_makes_one_inbox_message(
    port: int, account: SmscAccount, subscribe: Subscribe, inbox: Inbox
) -> None:
    """Two parts with the UDH and TLVs TP_udhi, PkTotal, PkNumber, sent 2-1, show once as the text."""
    await subscribe(PHONE, "ctcc")
    text = "【平安银行】" + "理赔进度已更新" * 12
    units = text.encode("utf-16-be")
    chunks = [units[:134], units[134:]]
    link = await login(port, account)
    for sequence, seq in ((2, 2), (3, 1)):
        tlvs = tlv(0x0002, b"\x01") + tlv(0x0009, b"\x02") + tlv(0x000A, bytes((seq,)))
        content = bytes((5, 0, 3, 7, 2, seq)) + chunks[seq - 1]
        await link.send(submit(account, sequence, content=content, tlvs=tlvs, need_report=0))
        assert status_of((await link.read()).body)[1] == 0
    assert [m["text"] for m in await inbox(PHONE)] == [text]


async def test_unanswered_report_is_sent_again_then_given_up(
    port: int, account: SmscAccount, subscribe: Subscribe
) -> None:
    """A DELIVER not answered comes again with the same MsgID and a new SequenceID, 3 more times."""
    await subscribe(PHONE, "ctcc")
    link = await login(port, account)
    await link.send(submit(account, 2))
    await link.read()
    delivers = [await link.read(within=1.0) for _ in range(4)]
    assert len({deliver.sequence for deliver in delivers}) == 4
    assert {smgp_deliver(deliver.body)["msg_id"] for deliver in delivers} == {
        smgp_deliver(delivers[0].body)["msg_id"]
    }
    assert await link.silent_for(0.6)


async def test_send_only_connection_gets_no_deliver(
    port: int, account: SmscAccount, subscribe: Subscribe
) -> None:
    """A report waits for a connection logged in to receive (LoginMode 1 or 2)."""
    await subscribe(PHONE, "ctcc")
    sender = await login(port, account, mode=0)
    await sender.send(submit(account, 2))
    assert status_of((await sender.read()).body)[1] == 0
    assert await sender.silent_for(0.3)
    receiver = await login(port, account, mode=1)
    assert smgp_deliver((await receiver.read()).body)["is_report"] == 1


async def test_reply_typed_on_the_phone_arrives_as_mo_deliver(
    client: SandboxClient, port: int, account: SmscAccount, subscribe: Subscribe
) -> None:
    """A reply to an SMS that came through SMGP is a DELIVER with IsReport 0, MsgFormat 8, from the
    phone to the number replied to; a long one comes as parts with TP_udhi, PkTotal and PkNumber."""
    await subscribe(PHONE, "ctcc")
    link = await login(port, account)
    await link.send(submit(account, 2, need_report=0))
    await link.read()
    assert (await client.post(f"/sandbox/devices/{PHONE}/reply", json={"text": "好的"})).status == 202
    mo = smgp_deliver((await link.read()).body)
    assert (mo["is_report"], mo["msg_format"], mo["tlvs"]) == (0, 8, {})
    assert (mo["src_term_id"], mo["dest_term_id"]) == (NATIONAL, account.access_number)
    assert mo["content"].decode("utf-16-be") == "好的"
    await client.post(f"/sandbox/devices/{PHONE}/reply", json={"text": "谢" * 71})
    parts = [smgp_deliver((await link.read()).body) for _ in range(2)]
    assert [part["tlvs"] for part in parts] == [
        {0x0002: b"\x01", 0x0009: b"\x02", 0x000A: bytes((seq,))} for seq in (1, 2)
    ]
    assert "".join(part["content"][6:].decode("utf-16-be") for part in parts) == "谢" * 71


async def test_active_test_and_exit(port: int, account: SmscAccount) -> None:
    """ACTIVE_TEST is answered at once (header only); EXIT is answered and the SMGW closes."""
    link = await login(port, account)
    await link.send(pdu(SMGP_ACTIVE_TEST, 4, b""))
    assert await link.read() == Pdu(SMGP_ACTIVE_TEST | RESP, 4, b"")
    await link.send(pdu(SMGP_EXIT, 5, b""))
    answer = await link.read()
    assert (answer.command, answer.sequence, answer.body) == (SMGP_EXIT | RESP, 5, b"")
    assert await link.closed_by_peer()
