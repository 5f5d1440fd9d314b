"""The sandbox's international SMSC over SMPP 3.4 on a real socket (docs/operator-dialects.md, "SMPP
3.4", "Long messages" and "The sandbox's gateways"), driven by the test's own ESME."""

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
from tests.sandbox.smpp_client import (
    BIND_TRANSCEIVER,
    DELIVER_SM,
    ENQUIRE_LINK,
    GENERIC_NACK,
    RESP,
    SUBMIT_SM,
    UNBIND,
    EsmeLink,
    Pdu,
    bind_transceiver,
    cstr,
    deliver_sm_fields,
    pdu,
    submit_sm,
    tlv,
)

PHONE = "+447700900123"
DIGITS = "447700900123"


@pytest.fixture
def smsc_config(config: SandboxConfig) -> SandboxConfig:
    """Reports at once, deliver_sm answers awaited 0.3 s, SMSC enquire_link after 0.5 s of silence."""
    return replace(config, report_delay=0.0, smsc_resend_after=0.3, smsc_heartbeat_after=0.5)


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, smsc_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox with fast SMSC timings."""
    return await aiohttp_client(create_sandbox_app(smsc_config, clock=clock))


@pytest.fixture
async def port(client: SandboxClient, subscribe: Subscribe) -> int:
    """The SMSC's port as the control API tells it, with a UK phone in the sandbox."""
    await subscribe(PHONE, "cmcc")
    number: int = (await (await client.get("/sandbox/smsc")).json())["intl"]["port"]
    return number


@pytest.fixture
def account(smsc_config: SandboxConfig) -> SmscAccount:
    """The ESME account the SMSC knows."""
    return smsc_config.smsc_accounts["intl"]


@pytest.fixture
async def links() -> AsyncIterator[list[EsmeLink]]:
    """The test's connections, closed at the end."""
    opened: list[EsmeLink] = []
    yield opened
    for link in opened:
        await link.close()


async def connect(port: int, links: list[EsmeLink]) -> EsmeLink:
    link = await EsmeLink.open(port)
    links.append(link)
    return link


async def bound(port: int, account: SmscAccount, links: list[EsmeLink]) -> EsmeLink:
    """A connection bound as a transceiver."""
    link = await connect(port, links)
    await link.send(bind_transceiver(1, account.login, account.secret))
    answer = await link.read()
    assert (answer.command, answer.status) == (BIND_TRANSCEIVER | RESP, 0)
    return link


async def set_faults(client: SandboxClient, **faults: object) -> None:
    answer = await client.put("/sandbox/operators/intl/faults", json=faults)
    assert answer.status == 200, await answer.text()


async def test_view_lists_the_smsc(client: SandboxClient, account: SmscAccount) -> None:
    """GET /sandbox/smsc lists intl on SMPP with its port and system_id (never the password)."""
    view = (await (await client.get("/sandbox/smsc")).json())["intl"]
    assert view["protocol"] == "smpp" and view["port"] > 0 and view["login"] == account.login
    assert account.secret not in str(view)


async def test_bind_transceiver_answers_the_documented_body(
    port: int, account: SmscAccount, links: list[EsmeLink]
) -> None:
    """bind_transceiver_resp: status 0, system_id SANDBOX and sc_interface_version 0x34; a second bind
    is ESME_RALYBND and the connection stays."""
    link = await connect(port, links)
    await link.send(bind_transceiver(7, account.login, account.secret))
    answer = await link.read()
    assert answer == Pdu(BIND_TRANSCEIVER | RESP, 0, 7, cstr("SANDBOX") + tlv(0x0210, b"\x34"))
    await link.send(bind_transceiver(8, account.login, account.secret))
    assert await link.read() == Pdu(BIND_TRANSCEIVER | RESP, 0x05, 8, b"")
    await link.send(pdu(ENQUIRE_LINK, 9))
    assert (await link.read()).sequence == 9


@pytest.mark.parametrize(
    ("make", "status"),
    [
        (lambda a: bind_transceiver(1, a.login + "x", a.secret), 0x0F),
        (lambda a: bind_transceiver(1, a.login, a.secret[:-1]), 0x0E),
        (lambda a: bind_transceiver(1, "a" * 16, a.secret), 0x0F),
    ],
    ids=["unknown system_id", "wrong password", "system_id without its NUL within 16"],
)
async def test_refused_binds(
    port: int, account: SmscAccount, links: list[EsmeLink], make: Any, status: int
) -> None:
    """Each refused bind answers its status without a body, then the SMSC closes."""
    link = await connect(port, links)
    await link.send(make(account))
    assert await link.read() == Pdu(BIND_TRANSCEIVER | RESP, status, 1, b"")
    assert await link.closed_by_peer()


async def test_refuse_login_fault_is_bind_failed(
    client: SandboxClient, port: int, account: SmscAccount, links: list[EsmeLink]
) -> None:
    """refuseLogin: correct credentials answer ESME_RBINDFAIL (0x0D) and the connection closes."""
    await set_faults(client, refuseLogin=True)
    link = await connect(port, links)
    await link.send(bind_transceiver(1, account.login, account.secret))
    assert (await link.read()).status == 0x0D
    assert await link.closed_by_peer()


async def test_before_bind_enquire_link_is_answered_and_submit_is_refused(
    port: int, links: list[EsmeLink]
) -> None:
    """Unbound: enquire_link answered 0, submit_sm and unbind answered ESME_RINVBNDSTS without a body."""
    link = await connect(port, links)
    await link.send(pdu(ENQUIRE_LINK, 1), submit_sm(2), pdu(UNBIND, 3))
    assert [await link.read() for _ in range(3)] == [
        Pdu(ENQUIRE_LINK | RESP, 0, 1, b""),
        Pdu(SUBMIT_SM | RESP, 0x04, 2, b""),
        Pdu(UNBIND | RESP, 0x04, 3, b""),
    ]


async def test_submit_reaches_the_inbox_and_the_receipt_follows(
    port: int, account: SmscAccount, links: list[EsmeLink], inbox: Inbox
) -> None:
    """An accepted submit_sm gets a 16-hex message_id; the text reaches the UK phone from the sender;
    the receipt deliver_sm (esm_class 0x04, data_coding 0) carries the doc's text and the TLVs
    receipted_message_id and message_state 2; answered, nothing more comes."""
    link = await bound(port, account, links)
    await link.send(submit_sm(2))
    answer = await link.read()
    assert (answer.command, answer.status, answer.sequence) == (SUBMIT_SM | RESP, 0, 2)
    message_id = answer.body[:-1].decode("ascii")
    assert len(message_id) == 16 and int(message_id, 16) >= 0 and answer.body[-1:] == b"\0"
    assert [(m["from"], m["text"]) for m in await inbox(PHONE)] == [("Bank", "Hi")]
    receipt = await link.read()
    fields = deliver_sm_fields(receipt.body)
    assert (receipt.command, fields["esm_class"], fields["data_coding"]) == (DELIVER_SM, 0x04, 0)
    assert (fields["source"], fields["destination"]) == ((1, 1, DIGITS), (5, 0, "Bank"))
    assert (
        fields["short_message"]
        == (
            f"id:{message_id} sub:001 dlvrd:001 submit date:2603020130 done date:2603020130"
            " stat:DELIVRD err:000 text:"
        ).encode()
    )
    assert fields["tlvs"] == {0x001E: cstr(message_id), 0x0427: b"\x02"}
    await link.send(pdu(DELIVER_SM | RESP, receipt.sequence, b"\0"))
    assert await link.silent_for(0.4)


async def test_number_without_a_sandbox_phone_is_accepted_and_receipted_undeliv(
    port: int, account: SmscAccount, links: list[EsmeLink]
) -> None:
    """A destination no sandbox phone holds answers 0; its receipt says UNDELIV err:001, state 5."""
    link = await bound(port, account, links)
    await link.send(submit_sm(2, destination="15550199", source="10690001", source_ton=1, source_npi=1))
    assert (await link.read()).status == 0
    fields = deliver_sm_fields((await link.read()).body)
    assert b" dlvrd:000 " in fields["short_message"]
    assert fields["short_message"].endswith(b" stat:UNDELIV err:001 text:")
    assert fields["tlvs"][0x0427] == b"\x05"
    assert fields["destination"] == (1, 1, "10690001")


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"service_type": b"toolong\0"}, 0x15),
        ({"source": "B" * 21}, 0x0A),
        ({"destination": "4" * 21}, 0x0B),
        ({"schedule": "2401"}, 0x61),
        ({"validity": "24011512300000x+"}, 0x62),
        ({"content": b"", "tlvs": tlv(0x0424, b"\x00H"), "data_coding": 8}, None),
        ({"tlvs": tlv(0x0424, b"\x00H")}, 0x01),
        ({"tlvs": b"\x02\x0c\x00"}, 0xC0),
        ({"tlvs": tlv(0x020E, b"\x02") + tlv(0x020E, b"\x02")}, 0xC2),
        ({"tlvs": tlv(0x020C, b"\x01")}, 0xC2),
        ({"tlvs": tlv(0x001E, b"\xff\x00")}, 0xC4),
        ({"source_ton": 2}, 0x48),
        ({"source": "VeryLongBank"}, 0x0A),
        ({"source": "B@nk"}, 0x0A),
        ({"source": "", "source_ton": 1}, 0x0A),
        ({"dest_ton": 0}, 0x50),
        ({"dest_npi": 0}, 0x51),
        ({"destination": "0447700900"}, 0x0B),
        ({"destination": "447"}, 0x0B),
        ({"esm_class": 0x80}, 0x43),
        ({"registered_delivery": 3}, 0x07),
        ({"data_coding": 0}, 0x401),
        ({"content": b""}, 0x01),
        ({"content": b"\x00H\x00"}, 0x01),
        ({"content": bytes(142)}, 0x01),
        ({"data_coding": 1, "content": b"a" * 161}, 0x01),
        ({"esm_class": 0x40}, 0x01),
    ],
    ids=[
        "service_type",
        "source_addr without NUL",
        "destination_addr without NUL",
        "schedule",
        "validity",
        "message_payload alone",
        "short_message and message_payload",
        "cut TLV",
        "tag twice",
        "known tag wrong length",
        "non-ASCII receipted_message_id",
        "source TON",
        "alphanumeric too long",
        "alphanumeric symbol",
        "empty source",
        "dest TON",
        "dest NPI",
        "leading 0",
        "too short",
        "esm_class bit",
        "registered_delivery",
        "data_coding 0",
        "no content",
        "odd UCS-2",
        "UCS-2 over 140",
        "IA5 over 160",
        "UDHI without header",
    ],
)
async def test_submit_checks_answer_their_status(
    port: int, account: SmscAccount, links: list[EsmeLink], fields: dict[str, Any], status: int | None
) -> None:
    """Each row of the doc's check table answers its command_status without a body (a text in
    message_payload alone is accepted); the connection stays."""
    link = await bound(port, account, links)
    await link.send(submit_sm(2, **({"registered_delivery": 0} | fields)))
    answer = await link.read()
    if status is None:
        assert answer.status == 0 and len(answer.body) == 17
    else:
        assert (answer.command, answer.status, answer.body) == (SUBMIT_SM | RESP, status, b"")
    await link.send(pdu(ENQUIRE_LINK, 3))
    assert (await link.read()).sequence == 3


async def test_window_overrun_answers_msgqful(
    client: SandboxClient, port: int, account: SmscAccount, links: list[EsmeLink]
) -> None:
    """With answers held back, the 17th submit_sm unanswered is answered 0x14 at once; 16 accepted."""
    await set_faults(client, answerDelayMs=400)
    link = await bound(port, account, links)
    await link.send(*(submit_sm(sequence, registered_delivery=0) for sequence in range(2, 18)))
    await link.send(submit_sm(99, registered_delivery=0))
    overrun = await link.read(within=0.3)
    assert (overrun.sequence, overrun.status) == (99, 0x14)
    rest = [await link.read() for _ in range(16)]
    assert [(answer.sequence, answer.status) for answer in rest] == [
        (sequence, 0) for sequence in range(2, 18)
    ]


async def test_long_message_makes_one_inbox_message(
    port: int, account: SmscAccount, links: list[EsmeLink], inbox: Inbox
) -> None:
    """Two UCS-2 parts with esm_class 0x40 and the UDH, sent 2-1, show once as the whole text."""
    text = "Your statement is ready. " * 3 + "ü"
    units = text.encode("utf-16-be")
    chunks = [units[:134], units[134:]]
    link = await bound(port, account, links)
    for sequence, part in ((2, 2), (3, 1)):
        content = bytes((5, 0, 3, 0x2A, 2, part)) + chunks[part - 1]
        await link.send(submit_sm(sequence, esm_class=0x40, content=content, registered_delivery=0))
        assert (await link.read()).status == 0
    assert [m["text"] for m in await inbox(PHONE)] == [text]


async def test_unanswered_receipt_is_sent_again_then_given_up(
    port: int, account: SmscAccount, links: list[EsmeLink]
) -> None:
    """A receipt not answered comes again with a new sequence_number and the same content, 3 more
    times; then nothing."""
    link = await bound(port, account, links)
    await link.send(submit_sm(2))
    await link.read()
    receipts = [await link.read(within=1.0) for _ in range(4)]
    assert len({receipt.sequence for receipt in receipts}) == 4
    assert {receipt.body for receipt in receipts} == {receipts[0].body}
    await link.send(pdu(ENQUIRE_LINK, 3))
    assert (await link.read()).command == ENQUIRE_LINK | RESP
    assert await link.silent_for(0.45)


async def test_reply_typed_on_the_phone_arrives_as_mo_deliver_sm(
    client: SandboxClient, port: int, account: SmscAccount, links: list[EsmeLink]
) -> None:
    """A reply is a deliver_sm with esm_class 0, source 1/1/the phone, destination the sender with
    its TON/NPI, data_coding 8; a long one comes as parts with esm_class 0x40 and the UDH."""
    link = await bound(port, account, links)
    await link.send(submit_sm(2, registered_delivery=0))
    await link.read()
    assert (await client.post(f"/sandbox/devices/{PHONE}/reply", json={"text": "STOP"})).status == 202
    mo = await link.read()
    fields = deliver_sm_fields(mo.body)
    assert (mo.command, fields["esm_class"], fields["data_coding"]) == (DELIVER_SM, 0, 8)
    assert (fields["source"], fields["destination"]) == ((1, 1, DIGITS), (5, 0, "Bank"))
    assert (fields["short_message"], fields["tlvs"]) == ("STOP".encode("utf-16-be"), {})
    await link.send(pdu(DELIVER_SM | RESP, mo.sequence, b"\0"))
    await client.post(f"/sandbox/devices/{PHONE}/reply", json={"text": "x" * 71})
    parts = [deliver_sm_fields((await link.read()).body) for _ in range(2)]
    assert [part["esm_class"] for part in parts] == [0x40, 0x40]
    assert "".join(part["short_message"][6:].decode("utf-16-be") for part in parts) == "x" * 71


async def test_enquire_link_both_ways(
    client: SandboxClient, port: int, account: SmscAccount, links: list[EsmeLink]
) -> None:
    """The ESME's enquire_link is answered at once; after 0.5 s of silence the SMSC sends its own,
    and closes after three unanswered; under silentHeartbeats the ESME's is not answered."""
    link = await bound(port, account, links)
    link.answer_pings = False
    await link.send(pdu(ENQUIRE_LINK, 2))
    assert await link.read() == Pdu(ENQUIRE_LINK | RESP, 0, 2, b"")
    ping = await link.read(within=1.5)
    assert (ping.command, ping.body) == (ENQUIRE_LINK, b"")
    await link.send(pdu(ENQUIRE_LINK | RESP, ping.sequence))
    pings = [await link.read(within=1.5) for _ in range(3)]
    assert {p.command for p in pings} == {ENQUIRE_LINK}
    assert await link.closed_by_peer(within=2.0)
    await set_faults(client, silentHeartbeats=True)
    quiet = await bound(port, account, links)
    quiet.answer_pings = False
    await quiet.send(pdu(ENQUIRE_LINK, 2), submit_sm(3, registered_delivery=0))
    assert (await quiet.read()).sequence == 3
    ping = await quiet.read(within=1.5)
    assert ping.command == ENQUIRE_LINK


async def test_unbind_is_answered_and_the_smsc_closes(
    port: int, account: SmscAccount, links: list[EsmeLink]
) -> None:
    """unbind: unbind_resp status 0 with its sequence, then closed."""
    link = await bound(port, account, links)
    await link.send(pdu(UNBIND, 4))
    assert await link.read() == Pdu(UNBIND | RESP, 0, 4, b"")
    assert await link.closed_by_peer()


async def test_unserved_and_unknown_commands_get_generic_nack(
    port: int, account: SmscAccount, links: list[EsmeLink]
) -> None:
    """query_sm, bind_transmitter and an unknown command_id answer generic_nack ESME_RINVCMDID with
    their sequence_number; the connection stays."""
    link = await bound(port, account, links)
    await link.send(
        pdu(0x00000003, 5, cstr("1") + b"\x00\x00" + cstr("")), pdu(0x00000002, 6), pdu(0x0000ABCD, 7)
    )
    assert [await link.read() for _ in range(3)] == [
        Pdu(GENERIC_NACK, 0x03, sequence, b"") for sequence in (5, 6, 7)
    ]
    await link.send(submit_sm(8, registered_delivery=0))
    assert (await link.read()).status == 0


async def test_length_outside_bounds_closes(port: int, links: list[EsmeLink]) -> None:
    """A command_length above 8192 cannot be resynchronised: the SMSC closes."""
    link = await connect(port, links)
    await link.send(struct.pack(">IIII", 9000, ENQUIRE_LINK, 0, 1))
    assert await link.closed_by_peer()


async def test_flow_control_faults(
    client: SandboxClient, port: int, account: SmscAccount, links: list[EsmeLink], inbox: Inbox
) -> None:
    """flowControlRate 1: ESME_RTHROTTLED, nothing delivered; submitsPerSecond 1: one of two passes."""
    await set_faults(client, flowControlRate=1.0)
    link = await bound(port, account, links)
    await link.send(submit_sm(2))
    assert await link.read() == Pdu(SUBMIT_SM | RESP, 0x58, 2, b"")
    assert await inbox(PHONE) == []
    await set_faults(client, flowControlRate=0.0, submitsPerSecond=1)
    await link.send(submit_sm(3, registered_delivery=0), submit_sm(4, registered_delivery=0))
    assert [(await link.read()).status for _ in range(2)] == [0, 0x58]


async def test_silent_and_drop_window_faults(
    client: SandboxClient, port: int, account: SmscAccount, links: list[EsmeLink], inbox: Inbox
) -> None:
    """silent: nothing answered or delivered; dropWindow 2: closed with two submits unanswered and
    undelivered, and the fault clears itself."""
    link = await bound(port, account, links)
    await set_faults(client, silent=True)
    await link.send(submit_sm(2), pdu(ENQUIRE_LINK, 3))
    assert await link.silent_for(0.3)
    assert await inbox(PHONE) == []
    await set_faults(client, silent=False, dropWindow=2)
    await link.send(submit_sm(4), submit_sm(5))
    assert await link.closed_by_peer()
    assert await inbox(PHONE) == []
    assert (await (await client.get("/sandbox/operators/intl/faults")).json())["dropWindow"] == 0


async def test_delay_duplicate_and_reorder_faults(
    client: SandboxClient, port: int, account: SmscAccount, links: list[EsmeLink]
) -> None:
    """answerDelayMs and reportDelayMs hold the answer and the receipt; duplicateReports sends the
    receipt twice; reorderReports sends the receipts of submits sent together newest first."""
    await set_faults(client, answerDelayMs=200, reportDelayMs=300)
    link = await bound(port, account, links)
    started = time.monotonic()
    await link.send(submit_sm(2))
    assert (await link.read()).status == 0
    assert time.monotonic() - started >= 0.15
    receipt = await link.read()
    assert time.monotonic() - started >= 0.25
    await link.send(pdu(DELIVER_SM | RESP, receipt.sequence, b"\0"))
    await set_faults(client, answerDelayMs=0, reportDelayMs=0, duplicateReports=True)
    await link.send(submit_sm(3))
    (await link.read())
    twice = [await link.read() for _ in range(2)]
    assert twice[0].body == twice[1].body and twice[0].sequence != twice[1].sequence
    await link.send(*(pdu(DELIVER_SM | RESP, r.sequence, b"\0") for r in twice))
    await set_faults(client, duplicateReports=False, reorderReports=True)
    await link.send(*(submit_sm(sequence) for sequence in (4, 5, 6)))
    ids = [(await link.read()).body[:-1] for _ in range(3)]
    receipts = [deliver_sm_fields((await link.read()).body)["tlvs"][0x001E][:-1] for _ in range(3)]
    assert receipts == ids[::-1]
