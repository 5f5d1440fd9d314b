"""The tests' ports (tests/ports.py): fixed numbers the kernel never hands out by itself, and servers
listening on a socket bound before they start."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests import ports
from tests.ports import bound_socket, free_port, hand_over


def test_free_ports_lie_outside_the_ephemeral_range_and_are_bindable() -> None:
    """Every number is outside the kernel's ephemeral range, bindable, and not repeated."""
    low, high = (int(bound) for bound in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    handed = [free_port() for _ in range(50)]
    assert len(set(handed)) == len(handed)
    assert all(1024 <= port < low or high < port for port in handed)
    for port in handed:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))


def test_a_held_or_just_handed_out_port_is_not_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A port some socket holds, or one handed out a moment ago, is never the answer; with nothing
    else to choose from, free_port raises."""
    with bound_socket() as held:
        port = held.getsockname()[1]
        monkeypatch.setattr(ports, "_outside_ephemeral", lambda: range(port, port + 1))
        with pytest.raises(RuntimeError, match="no bindable port"):
            free_port()
    given = free_port()
    monkeypatch.setattr(ports, "_outside_ephemeral", lambda: range(given, given + 1))
    with pytest.raises(RuntimeError, match="no bindable port"):
        free_port()


async def test_a_server_listens_on_the_socket_bound_before_it_starts() -> None:
    """The port is known before the server starts, the server answers on it, and closing the server
    closes the socket (leaving the block then is harmless)."""

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app = web.Application()
    app.router.add_get("/", hello)
    with bound_socket() as sock:
        port = sock.getsockname()[1]
        server = TestServer(app, host="127.0.0.1", socket_factory=hand_over(sock))
        await server.start_server()
        try:
            assert server.port == port
            async with httpx.AsyncClient() as http:
                assert (await http.get(f"http://127.0.0.1:{port}/")).text == "hello"
        finally:
            await server.close()
        assert sock.fileno() == -1


def test_an_unused_bound_socket_is_closed_on_exit() -> None:
    """A socket no server took is closed when the block ends."""
    with bound_socket() as sock:
        assert sock.getsockname()[0] == "127.0.0.1"
    assert sock.fileno() == -1
