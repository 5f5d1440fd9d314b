"""TCP ports for the servers tests start, with no window in which another socket can take them.

Probing a free port (bind to 0, read it, close) and binding it later races with every other socket:
the kernel hands the same port to the next ``bind(0)`` or outgoing ``connect`` that asks for one.

- An in-process server listens on a socket bound before anything else runs: :func:`bound_socket`,
  handed to :class:`aiohttp.test_utils.TestServer` with ``socket_factory=hand_over(sock)``. Its port
  is known at once, so URLs that name it can be built before the server starts.
- A server in another process (or an address that must refuse connections) gets a number from
  :func:`free_port`: bindable a moment ago and below the kernel's ephemeral range, so no ``bind(0)``
  and no outgoing connection can take it; nor does this process hand it out again soon after.
"""

from __future__ import annotations

import random
import socket
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["bound_socket", "free_port", "hand_over"]

LOCALHOST = "127.0.0.1"
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LINUX_DEFAULT_RANGE = (32768, 60999)
_LOWEST = 20000
_ENOUGH = 1000
_ATTEMPTS = 200
_recent: deque[int] = deque(maxlen=500)
_random = random.Random()


@contextmanager
def bound_socket(host: str = LOCALHOST) -> Iterator[socket.socket]:
    """A TCP socket bound (not listening, ``SO_REUSEADDR`` as aiohttp's test server sets it) to a port
    the kernel picks on ``host``; closed on exit, or when binding fails (aiohttp's ``get_port_socket``
    leaves its socket to the garbage collector then), unless the server that took it closed it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
        yield sock
    finally:
        sock.close()


def hand_over(sock: socket.socket) -> Callable[[str, int, socket.AddressFamily], socket.socket]:
    """A ``socket_factory`` for :class:`aiohttp.test_utils.TestServer` that listens on ``sock``."""

    def factory(host: str, port: int, family: socket.AddressFamily) -> socket.socket:
        return sock

    return factory


def _outside_ephemeral() -> range:
    """Ports no ``bind(0)`` or ``connect`` gets: below the ephemeral range (from ``_LOWEST``), else above."""
    try:
        low, high = (int(bound) for bound in _EPHEMERAL_RANGE.read_text().split())
    except OSError:
        low, high = _LINUX_DEFAULT_RANGE
    if low - _LOWEST >= _ENOUGH:
        return range(_LOWEST, low)
    if 65536 - (high + 1) >= _ENOUGH:
        return range(high + 1, 65536)
    raise RuntimeError(f"the ephemeral port range {low}-{high} leaves no room for fixed test ports")


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOCALHOST) -> int:
    """A TCP port on ``host`` that nothing holds now and that the kernel never picks by itself (see
    the module docstring); for a server another process starts, or a port that refuses connections.

    :raises RuntimeError: when no such port is found.
    """
    ports = _outside_ephemeral()
    for _ in range(_ATTEMPTS):
        port = _random.choice(ports)
        if port not in _recent and _bindable(host, port):
            _recent.append(port)
            return port
    raise RuntimeError(f"no bindable port on {host} in {ports.start}-{ports.stop - 1}")
