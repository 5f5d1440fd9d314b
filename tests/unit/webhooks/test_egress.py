"""The webhook sender: connect-time address guards and how each outcome of one POST is reported."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from gateway.webhooks.egress import AddressRefused, GuardedResolver, WebhookSender, guarded_socket
from tests.unit.webhooks.support import FakeResolver, Receiver, TcpCounter


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver on 127.0.0.1."""
    async with Receiver() as running:
        yield running


async def test_resolver_passes_names_with_only_global_answers() -> None:
    """A name whose every answer is global resolves as the inner resolver answered."""
    resolver = GuardedResolver(FakeResolver({"hooks.bank.example": ["93.184.216.34", "2606:2800:220:1::1"]}))
    answers = await resolver.resolve("hooks.bank.example", 443)
    assert [a["host"] for a in answers] == ["93.184.216.34", "2606:2800:220:1::1"]


@pytest.mark.parametrize(
    "answers",
    [
        ["127.0.0.1"],
        ["93.184.216.34", "10.0.0.7"],
        ["2606:2800:220:1::1", "::ffff:169.254.169.254"],
        ["fd00::1"],
    ],
)
async def test_resolver_refuses_a_name_if_any_answer_is_forbidden(answers: list[str]) -> None:
    """One forbidden answer among the A/AAAA records refuses the whole name."""
    resolver = GuardedResolver(FakeResolver({"hooks.bank.example": answers}))
    with pytest.raises(AddressRefused):
        await resolver.resolve("hooks.bank.example", 443)


@pytest.mark.parametrize(
    ("family", "address"),
    [
        (socket.AF_INET, ("127.0.0.1", 80)),
        (socket.AF_INET, ("169.254.169.254", 80)),
        (socket.AF_INET6, ("::ffff:127.0.0.1", 80, 0, 0)),
        (socket.AF_INET6, ("fe80::1", 80, 0, 2)),
    ],
)
def test_socket_factory_refuses_forbidden_addresses(
    family: socket.AddressFamily, address: tuple[object, ...]
) -> None:
    """The connector's socket factory refuses forbidden destinations before creating a socket."""
    with pytest.raises(AddressRefused):
        guarded_socket((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", address))


def test_socket_factory_creates_sockets_for_global_addresses() -> None:
    """A global destination gets a socket of the requested family."""
    sock = guarded_socket(
        (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("93.184.216.34", 443))
    )
    try:
        assert sock.family == socket.AF_INET
    finally:
        sock.close()


async def test_statuses_are_reported_and_redirects_are_failures(receiver: Receiver) -> None:
    """2xx is delivered; a 307 is reported as a redirect not followed; a 503's Retry-After is kept."""
    receiver.answer("/ok", 204)
    receiver.answer("/moved", 307, headers={"Location": "/ok"})
    receiver.answer("/busy", 503, headers={"Retry-After": "30"})
    sender = WebhookSender(allow_private=True, timeout=2.0)
    try:
        ok = await sender.send(receiver.url("/ok"), b"{}", {"webhook-id": "msg_1"})
        moved = await sender.send(receiver.url("/moved"), b"{}", {})
        busy = await sender.send(receiver.url("/busy"), b"{}", {})
    finally:
        await sender.aclose()
    assert ok.delivered and ok.status == 204 and ok.error is None
    assert not moved.delivered and moved.error == "redirect not followed (307)"
    assert busy.status == 503 and busy.retry_after == "30" and not busy.delivered
    assert [r.path for r in receiver.received] == ["/ok", "/moved", "/busy"]
    assert receiver.received[0].headers["webhook-id"] == "msg_1"


async def test_a_silent_receiver_times_out(receiver: Receiver) -> None:
    """No answer within the timeout is a timeout error, not an exception."""
    receiver.delay = 1.0
    sender = WebhookSender(allow_private=True, timeout=0.2)
    try:
        result = await sender.send(receiver.url("/slow"), b"{}", {})
    finally:
        await sender.aclose()
    assert result.status is None and result.error is not None and result.error.startswith("timeout")


async def test_connection_and_dns_failures_are_errors() -> None:
    """A refused connection and an unknown name come back as errors with their kind."""
    async with TcpCounter() as listener:
        port = listener.port
    sender = WebhookSender(allow_private=True, timeout=2.0, resolver=FakeResolver({}))
    try:
        refused = await sender.send(f"http://127.0.0.1:{port}/", b"{}", {})
        unknown = await sender.send("http://nowhere.example/", b"{}", {})
    finally:
        await sender.aclose()
    assert refused.error is not None and refused.error.startswith("connect:")
    assert unknown.error is not None and unknown.error.startswith("dns:")


async def test_guards_are_off_when_private_webhooks_are_allowed(receiver: Receiver) -> None:
    """With private webhooks allowed, a name resolving to loopback is delivered to."""
    sender = WebhookSender(allow_private=True, resolver=FakeResolver({"hooks.test": ["127.0.0.1"]}))
    try:
        result = await sender.send(f"http://hooks.test:{receiver.port}/in", b"{}", {})
    finally:
        await sender.aclose()
    assert result.delivered and receiver.at("/in")


async def test_refusals_never_open_a_connection() -> None:
    """With the guards on, a name resolving to loopback and an http URL are refused with a reason
    and the listener sees no connection."""
    async with TcpCounter() as listener:
        sender = WebhookSender(allow_private=False, resolver=FakeResolver({"hooks.test": ["127.0.0.1"]}))
        try:
            by_name = await sender.send(f"https://hooks.test:{listener.port}/", b"{}", {})
            plain = await sender.send(f"http://hooks.test:{listener.port}/", b"{}", {})
        finally:
            await sender.aclose()
        await asyncio.sleep(0.05)
        assert listener.connections == 0
    assert by_name.error == "refused: the host resolves to 127.0.0.1, a loopback address"
    assert plain.error is not None and plain.error.startswith("refused:") and "https" in plain.error
