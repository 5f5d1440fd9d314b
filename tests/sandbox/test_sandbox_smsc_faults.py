"""Fault injection on the sandbox's binary-protocol SMS gateways through the control API
(docs/operator-dialects.md, "The sandbox's gateways"), observed by the test's own SP client."""

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
from tests.sandbox.smsc_client import (
    CMPP_ACTIVE_TEST,
    CMPP_CONNECT,
    CMPP_SUBMIT,
    NO_FAULTS,
    RESP,
    SMGP_LOGIN,
    SpLink,
    cmpp_connect,
    cmpp_deliver,
    cmpp_deliver_resp,
    cmpp_result,
    cmpp_submit,
    pdu,
    smgp_login,
    smgp_submit,
)

PHONE = "+8613800138000"
NATIONAL = "13800138000"
CT_PHONE = "+8618900189000"


@pytest.fixture(autouse=True)
async def close_links() -> AsyncIterator[None]:
    """Close the test's SP connections."""
    yield
    await SpLink.close_all()


@pytest.fixture
def smsc_config(config: SandboxConfig) -> SandboxConfig:
    """Reports at once, ``DELIVER`` answers awaited 2 s, ISMG heartbeats after 3 s of silence."""
    return replace(config, report_delay=0.0, smsc_resend_after=2.0, smsc_heartbeat_after=3.0)


@pytest.fixture
async def client(
    aiohttp_client: AiohttpClient, smsc_config: SandboxConfig, clock: ManualClock
) -> SandboxClient:
    """A sandbox with fast SMSC timings."""
    return await aiohttp_client(create_sandbox_app(smsc_config, clock=clock))


@pytest.fixture
async def subscribed(subscribe: Subscribe) -> None:
    """A China Mobile and a China Telecom phone."""
    await subscribe(PHONE, "cmcc")
    await subscribe(CT_PHONE, "ctcc")


@pytest.fixture
async def ports(client: SandboxClient, subscribed: None) -> dict[str, int]:
    """Each operator's gateway port."""
    view = await (await client.get("/sandbox/smsc")).json()
    return {operator: entry["port"] for operator, entry in view.items()}


async def set_faults(client: SandboxClient, operator: str, **faults: object) -> dict[str, Any]:
    response = await client.put(f"/sandbox/operators/{operator}/faults", json=faults)
    assert response.status == 200, await response.text()
    view: dict[str, Any] = await response.json()
    return view


async def cmpp_login(port: int, account: SmscAccount) -> SpLink:
    link = await SpLink.open(port)
    await link.send(cmpp_connect(1, account.login, account.secret))
    answer = await link.read()
    assert (answer.command, answer.body[:4]) == (CMPP_CONNECT | RESP, bytes(4))
    return link


def submit(account: SmscAccount, sequence: int, text: str = "hello", **fields: Any) -> bytes:
    return cmpp_submit(
        sequence,
        sp_id=account.login,
        src_id=account.access_number,
        destinations=(NATIONAL,),
        content=text.encode("utf-16-be"),
        **fields,
    )


@pytest.fixture
def cmcc(smsc_config: SandboxConfig) -> SmscAccount:
    """The China Mobile SP account."""
    return smsc_config.smsc_accounts["cmcc"]


async def test_faults_view_and_clear(client: SandboxClient) -> None:
    """PUT sets the protocol faults and answers the whole state; DELETE puts them back to none;
    out-of-range values are 400."""
    view = await set_faults(
        client, "cmcc", dropWindow=3, flowControlRate=0.5, submitsPerSecond=10, reportDelayMs=20, silent=True
    )
    assert view == {
        **NO_FAULTS,
        "dropWindow": 3,
        "flowControlRate": 0.5,
        "submitsPerSecond": 10,
        "reportDelayMs": 20,
        "silent": True,
    }
    assert await (await client.delete("/sandbox/operators/cmcc/faults")).json() == NO_FAULTS
    for bad in ({"flowControlRate": 1.5}, {"dropWindow": -1}, {"answerDelayMs": "1"}):
        assert (await client.put("/sandbox/operators/cmcc/faults", json=bad)).status == 400


async def test_refuse_login_answers_the_authentication_failure(
    client: SandboxClient, ports: dict[str, int], smsc_config: SandboxConfig
) -> None:
    """refuseLogin: CMPP CONNECT Status 3 and SMGP LOGIN Status 21, with correct credentials; both close."""
    await set_faults(client, "cmcc", refuseLogin=True)
    await set_faults(client, "ctcc", refuseLogin=True)
    cm, ct = smsc_config.smsc_accounts["cmcc"], smsc_config.smsc_accounts["ctcc"]
    link = await SpLink.open(ports["cmcc"])
    await link.send(cmpp_connect(1, cm.login, cm.secret))
    assert (await link.read()).body[:4] == struct.pack(">I", 3)
    assert await link.closed_by_peer()
    link = await SpLink.open(ports["ctcc"])
    await link.send(smgp_login(1, ct.login, ct.secret))
    answer = await link.read()
    assert (answer.command, answer.body[:4]) == (SMGP_LOGIN | RESP, struct.pack(">I", 21))
    assert await link.closed_by_peer()


async def test_drop_window_closes_with_the_window_unanswered_once(
    client: SandboxClient, ports: dict[str, int], cmcc: SmscAccount, inbox: Inbox
) -> None:
    """dropWindow 3: the connection closes once 3 SUBMITs wait unanswered; none is delivered; the fault
    then clears itself and the same SUBMITs on a new connection are accepted."""
    await set_faults(client, "cmcc", dropWindow=3)
    link = await cmpp_login(ports["cmcc"], cmcc)
    await link.send(
        *(submit(cmcc, sequence, f"m{sequence}", registered_delivery=0) for sequence in (2, 3, 4))
    )
    assert await link.closed_by_peer()
    assert await inbox(PHONE) == []
    assert (await (await client.get("/sandbox/operators/cmcc/faults")).json())["dropWindow"] == 0
    again = await cmpp_login(ports["cmcc"], cmcc)
    await again.send(
        *(submit(cmcc, sequence, f"m{sequence}", registered_delivery=0) for sequence in (2, 3, 4))
    )
    assert [cmpp_result((await again.read()).body)[1] for _ in range(3)] == [0, 0, 0]
    assert [m["text"] for m in await inbox(PHONE)] == ["m2", "m3", "m4"]


async def test_silent_gateway_answers_nothing_until_cleared(
    client: SandboxClient, ports: dict[str, int], cmcc: SmscAccount, inbox: Inbox
) -> None:
    """silent: SUBMIT and ACTIVE_TEST get no answer and nothing is delivered; after DELETE the same
    connection is answered again."""
    link = await cmpp_login(ports["cmcc"], cmcc)
    await set_faults(client, "cmcc", silent=True)
    await link.send(submit(cmcc, 2), pdu(CMPP_ACTIVE_TEST, 3, b""))
    assert await link.silent_for(0.4)
    assert await inbox(PHONE) == []
    await client.delete("/sandbox/operators/cmcc/faults")
    await link.send(pdu(CMPP_ACTIVE_TEST, 4, b""))
    assert (await link.read()).sequence == 4


async def test_silent_heartbeats_leave_active_test_unanswered_only(
    client: SandboxClient, ports: dict[str, int], cmcc: SmscAccount
) -> None:
    """silentHeartbeats: ACTIVE_TEST is not answered, SUBMIT still is."""
    await set_faults(client, "cmcc", silentHeartbeats=True)
    link = await cmpp_login(ports["cmcc"], cmcc)
    await link.send(pdu(CMPP_ACTIVE_TEST, 2, b""), submit(cmcc, 3, registered_delivery=0))
    answer = await link.read()
    assert (answer.command, answer.sequence) == (CMPP_SUBMIT | RESP, 3)
    assert await link.silent_for(0.3)


async def test_flow_control_rate_answers_the_flow_control_result(
    client: SandboxClient, ports: dict[str, int], smsc_config: SandboxConfig, inbox: Inbox
) -> None:
    """flowControlRate 1: every SUBMIT is answered CMPP Result 8 / SMGP Status 1 and not delivered."""
    await set_faults(client, "cmcc", flowControlRate=1.0)
    await set_faults(client, "ctcc", flowControlRate=1.0)
    cm, ct = smsc_config.smsc_accounts["cmcc"], smsc_config.smsc_accounts["ctcc"]
    link = await cmpp_login(ports["cmcc"], cm)
    await link.send(submit(cm, 2))
    assert cmpp_result((await link.read()).body) == (bytes(8), 8)
    smgp = await SpLink.open(ports["ctcc"])
    await smgp.send(smgp_login(1, ct.login, ct.secret))
    await smgp.read()
    await smgp.send(
        smgp_submit(2, src=ct.access_number, destinations=(CT_PHONE[3:],), content="hi".encode("utf-16-be"))
    )
    assert (await smgp.read()).body == bytes(10) + struct.pack(">I", 1)
    assert await inbox(PHONE) == [] and await inbox(CT_PHONE) == []


async def test_submits_per_second_throttles_the_excess(
    client: SandboxClient, ports: dict[str, int], cmcc: SmscAccount
) -> None:
    """submitsPerSecond 2: of 4 SUBMITs at once the first 2 are accepted, the rest answered 8."""
    await set_faults(client, "cmcc", submitsPerSecond=2)
    link = await cmpp_login(ports["cmcc"], cmcc)
    await link.send(*(submit(cmcc, sequence, registered_delivery=0) for sequence in range(2, 6)))
    assert [cmpp_result((await link.read()).body)[1] for _ in range(4)] == [0, 0, 8, 8]


async def test_report_delay_holds_the_report(
    client: SandboxClient, ports: dict[str, int], cmcc: SmscAccount
) -> None:
    """reportDelayMs 400: the report arrives no sooner than 0.4 s after the SUBMIT's answer."""
    await set_faults(client, "cmcc", reportDelayMs=400)
    link = await cmpp_login(ports["cmcc"], cmcc)
    await link.send(submit(cmcc, 2))
    await link.read()
    started = time.monotonic()
    report = cmpp_deliver((await link.read()).body)
    assert time.monotonic() - started >= 0.35
    assert report["report"]["stat"] == "DELIVRD"


async def test_duplicate_reports_send_each_report_twice(
    client: SandboxClient, ports: dict[str, int], cmcc: SmscAccount
) -> None:
    """duplicateReports: two DELIVERs (each its own Msg_Id) carry the same report; both answered,
    nothing more comes."""
    await set_faults(client, "cmcc", duplicateReports=True)
    link = await cmpp_login(ports["cmcc"], cmcc)
    await link.send(submit(cmcc, 2))
    msg_id, _ = cmpp_result((await link.read()).body)
    delivers = [await link.read() for _ in range(2)]
    fields = [cmpp_deliver(deliver.body) for deliver in delivers]
    assert [field["report"]["msg_id"] for field in fields] == [msg_id, msg_id]
    assert fields[0]["msg_id"] != fields[1]["msg_id"]
    for deliver, field in zip(delivers, fields, strict=True):
        await link.send(cmpp_deliver_resp(deliver.sequence, field["msg_id"]))
    assert await link.silent_for(0.3)


async def test_reorder_reports_sends_them_newest_first(
    client: SandboxClient, ports: dict[str, int], cmcc: SmscAccount
) -> None:
    """reorderReports: the reports of three SUBMITs sent together arrive in reverse order."""
    await set_faults(client, "cmcc", reorderReports=True)
    link = await cmpp_login(ports["cmcc"], cmcc)
    await link.send(*(submit(cmcc, sequence) for sequence in (2, 3, 4)))
    ids = [cmpp_result((await link.read()).body)[0] for _ in range(3)]
    reported = [cmpp_deliver((await link.read()).body)["report"]["msg_id"] for _ in range(3)]
    assert reported == ids[::-1]


async def test_answer_delay_holds_accepted_answers(
    client: SandboxClient, ports: dict[str, int], cmcc: SmscAccount
) -> None:
    """answerDelayMs 300: an accepted SUBMIT is answered after about 0.3 s."""
    await set_faults(client, "cmcc", answerDelayMs=300)
    link = await cmpp_login(ports["cmcc"], cmcc)
    started = time.monotonic()
    await link.send(submit(cmcc, 2, registered_delivery=0))
    assert cmpp_result((await link.read()).body)[1] == 0
    assert time.monotonic() - started >= 0.25
