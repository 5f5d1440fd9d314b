"""The sandbox phone's SMS inbox, its addresses on each network, and the control API around them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network

import pytest

import sandbox.appkeys
import sandbox.state
from sandbox.cellular import CELLULAR_RANGES, cellular_ip, wifi_ip
from sandbox.config import Operator
from sandbox.state import Inboxes
from tests.sandbox.conftest import SandboxClient, Subscribe

PHONE = "+8613800138000"
AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_inbox_keeps_arrival_order_and_sequence() -> None:
    """Messages come back oldest first; every delivery gets the next sequence number."""
    inboxes = Inboxes()
    first = inboxes.deliver(PHONE, "10086", "one", AT)
    inboxes.deliver("+8618600186000", "10010", "other phone", AT)
    third = inboxes.deliver(PHONE, "10690000", "two", AT)

    assert [message.text for message in inboxes.messages(PHONE)] == ["one", "two"]
    assert (first.seq, third.seq, inboxes.last_seq()) == (1, 3, 3)
    assert inboxes.messages("+8618900189000") == []


def test_inbox_keeps_the_last_100_messages_per_phone() -> None:
    """The 101st message pushes out the oldest."""
    inboxes = Inboxes()
    for index in range(101):
        inboxes.deliver(PHONE, "10086", f"m{index}", AT)

    texts = [message.text for message in inboxes.messages(PHONE)]
    assert len(texts) == 100
    assert (texts[0], texts[-1]) == ("m1", "m100")


def test_inboxes_forget_the_least_recently_written_phone(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the store full, a new phone's inbox replaces the one written least recently."""
    monkeypatch.setattr(sandbox.state, "_MAX_INBOXES", 2)
    inboxes = Inboxes()
    inboxes.deliver("+8613800000001", "a", "1", AT)
    inboxes.deliver("+8613800000002", "a", "2", AT)
    inboxes.deliver("+8613800000001", "a", "3", AT)
    inboxes.deliver("+8613800000003", "a", "4", AT)

    assert inboxes.messages("+8613800000002") == []
    assert [m.text for m in inboxes.messages("+8613800000001")] == ["1", "3"]


async def test_messages_endpoint_shows_the_inbox(client: SandboxClient, subscribe: Subscribe) -> None:
    """GET /sandbox/devices/{phone}/messages answers [{from, text, receivedAt}] oldest first."""
    await subscribe(PHONE, "cmcc")
    state = client.app[sandbox.appkeys.STATE]
    state.inboxes.deliver(PHONE, "10086", "【中国移动】验证码123456", AT)
    state.inboxes.deliver(PHONE, "106900", "second", AT.replace(minute=31))

    response = await client.get(f"/sandbox/devices/{PHONE}/messages")

    assert response.status == 200
    assert await response.json() == [
        {"from": "10086", "text": "【中国移动】验证码123456", "receivedAt": "2026-03-02T01:30:00Z"},
        {"from": "106900", "text": "second", "receivedAt": "2026-03-02T01:31:00Z"},
    ]


async def test_messages_of_unknown_or_malformed_numbers(client: SandboxClient, subscribe: Subscribe) -> None:
    """A registered phone without SMS has []; an unregistered one 404; a malformed number 400."""
    await subscribe(PHONE, "cmcc")

    assert await (await client.get(f"/sandbox/devices/{PHONE}/messages")).json() == []
    assert (await client.get("/sandbox/devices/+8613700137000/messages")).status == 404
    assert (await client.get("/sandbox/devices/13800138000/messages")).status == 400


@pytest.mark.parametrize(
    "kyc",
    [
        {"birthdate": "1990-1-1"},
        {"birthdate": "19900101"},
        {"idDocumentExpiryDate": "2030-02-30"},
        {"gender": "M"},
    ],
)
async def test_kyc_dates_and_gender_are_validated(client: SandboxClient, kyc: dict[str, str]) -> None:
    """A seeded record needs YYYY-MM-DD dates and a KYC Match gender: 400 otherwise."""
    response = await client.post(
        "/sandbox/subscribers", json={"phoneNumber": PHONE, "operator": "cmcc", "kyc": kyc}
    )

    assert response.status == 400
    assert (await response.json())["code"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("operator", "network"), [("cmcc", "10.64.0.0/16"), ("cucc", "10.65.0.0/16"), ("ctcc", "10.66.0.0/16")]
)
def test_cellular_addresses_are_inside_the_operator_range(operator: Operator, network: str) -> None:
    """Each phone's cellular address is in its operator's documented /16, never network or broadcast."""
    assert CELLULAR_RANGES[operator] == IPv4Network(network)
    addresses = {cellular_ip(f"+86138{index:08d}", operator) for index in range(500)}

    assert all(address in IPv4Network(network) for address in addresses)
    assert IPv4Network(network).network_address not in addresses
    assert IPv4Network(network).broadcast_address not in addresses
    assert len(addresses) > 490


def test_addresses_follow_the_documented_derivation() -> None:
    """host = 1 + first two digest bytes mod 65534; Wi-Fi = 192.0.2.(1 + first byte mod 254)."""
    digest = hashlib.sha256(PHONE.encode()).digest()
    host = 1 + int.from_bytes(digest[:2], "big") % 65534

    assert cellular_ip(PHONE, "cucc") == IPv4Address("10.65.0.0") + host
    assert wifi_ip(PHONE) == IPv4Address(f"192.0.2.{1 + digest[0] % 254}")
    assert cellular_ip(PHONE, "cucc") == cellular_ip(PHONE, "cucc")
