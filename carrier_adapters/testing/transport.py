"""An in-memory :class:`~carrier_adapters.transport.Transport` for tests of the adapters and of
whatever wraps a transport.

A test registers routes (:meth:`FakeTransport.on_post`, :meth:`FakeTransport.on_get`), says how
each answers (:meth:`Route.respond`, :meth:`Route.reply`, :meth:`Route.handle`,
:meth:`Route.fail`, :meth:`Route.sequence`), runs the code under test, then reads what each route
received (:attr:`Route.calls`, :attr:`Route.last`). Like a real transport the fake enforces the call's
``timeout`` (a handler still running then ends in :func:`~carrier_adapters.transport.timed_out`)
and reports failures as carrier errors: ``route.fail(refused)`` raises the error a refused
connection raises in production.
"""

from __future__ import annotations

import asyncio
import inspect
import json as jsonlib
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from carrier_adapters.transport import timed_out

__all__ = ["Answer", "FakeTransport", "Request", "Route", "answer"]


@dataclass(frozen=True, slots=True)
class Request:
    """One call the fake received; ``content_type`` and ``connect_timeout`` are None for a GET."""

    method: str
    url: str
    content: bytes
    content_type: str | None
    operator: str
    timeout: float
    connect_timeout: float | None

    @property
    def path(self) -> str:
        """The URL's path."""
        return urlsplit(self.url).path

    def json(self) -> Any:
        """The body parsed as JSON."""
        return jsonlib.loads(self.content)

    def form(self) -> dict[str, str]:
        """The body parsed as a form (blank values kept)."""
        return dict(parse_qsl(self.content.decode(), keep_blank_values=True))


@dataclass(frozen=True, slots=True)
class Answer:
    """What the fake operator answers: an HTTP status and a body."""

    status: int = 200
    content: bytes = b""


_NO_JSON = object()


def answer(
    status: int = 200, *, json: Any = _NO_JSON, text: str | None = None, content: bytes = b""
) -> Answer:
    """An :class:`Answer` with ``json`` (compact UTF-8), ``text`` (UTF-8) or ``content`` as its body."""
    if json is not _NO_JSON:
        content = jsonlib.dumps(json, ensure_ascii=False, separators=(",", ":")).encode()
    elif text is not None:
        content = text.encode()
    return Answer(status, content)


Handler = Callable[[Request], Answer | Awaitable[Answer]]
"""Answers a request (may be async, may raise: a carrier error is what a transport raises)."""
ErrorFactory = Callable[[str], Exception]
"""Builds the error of a failed call from the operator code: ``refused``, ``timed_out``, ``dropped``."""


class Route:
    """Requests of one method to one path (or URL), and how they are answered (default: HTTP 200)."""

    def __init__(self, method: str, target: str) -> None:
        self.method = method
        self.target = target
        self.calls: list[Request] = []
        self._handler: Handler = lambda request: Answer()

    @property
    def call_count(self) -> int:
        """How many requests reached this route."""
        return len(self.calls)

    @property
    def last(self) -> Request:
        """The latest request of this route.

        :raises AssertionError: it was never called.
        """
        if not self.calls:
            raise AssertionError(f"{self.method} {self.target} was never called")
        return self.calls[-1]

    def matches(self, method: str, url: str) -> bool:
        """Whether a request of ``method`` to ``url`` is this route's."""
        if method != self.method:
            return False
        return urlsplit(url).path == self.target if self.target.startswith("/") else url == self.target

    def respond(
        self, status: int = 200, *, json: Any = _NO_JSON, text: str | None = None, content: bytes = b""
    ) -> Route:
        """Answer every request the same (see :func:`answer`)."""
        return self.reply(answer(status, json=json, text=text, content=content))

    def reply(self, fixed: Answer) -> Route:
        """Answer every request with ``fixed``."""
        return self.handle(lambda request: fixed)

    def handle(self, handler: Handler) -> Route:
        """Answer each request with ``handler(request)``."""
        self._handler = handler
        return self

    def fail(self, error: ErrorFactory) -> Route:
        """Fail every request with ``error(operator)``, e.g. ``route.fail(refused)``."""

        def failing(request: Request) -> Answer:
            raise error(request.operator)

        return self.handle(failing)

    def sequence(self, *outcomes: Answer | ErrorFactory) -> Route:
        """Answer (or fail, as :meth:`fail`) the following requests with ``outcomes``, one each.

        A request after the last outcome fails the test with an ``AssertionError``.
        """
        queued = deque(outcomes)

        def next_outcome(request: Request) -> Answer:
            if not queued:
                raise AssertionError(f"{self.method} {self.target} called more often than its sequence")
            outcome = queued.popleft()
            if isinstance(outcome, Answer):
                return outcome
            raise outcome(request.operator)

        return self.handle(next_outcome)

    async def answer(self, request: Request) -> Answer:
        """Record ``request`` and answer it with the handler."""
        self.calls.append(request)
        result = self._handler(request)
        if inspect.isawaitable(result):
            return await result
        return result


class FakeTransport:
    """A :class:`~carrier_adapters.transport.Transport` answering from registered routes.

    A request no route matches fails the test with an ``AssertionError`` (not a carrier error, so
    no adapter mistakes it for an operator failure). ``requests`` lists every request received.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[Request] = []
        self.closed = False

    def on_post(self, target: str) -> Route:
        """The route of POSTs to ``target``: a path (``/a/b``) or a whole URL (made on first use)."""
        return self._route("POST", target)

    def on_get(self, target: str) -> Route:
        """The route of GETs to ``target``: a path (``/a/b``) or a whole URL (made on first use)."""
        return self._route("GET", target)

    def uncalled(self) -> list[Route]:
        """The routes no request reached."""
        return [route for route in self.routes if not route.calls]

    async def post(
        self,
        url: str,
        body: bytes,
        content_type: str,
        *,
        operator: str,
        timeout: float,  # noqa: ASYNC109 - the transport owns the call's deadline
        connect_timeout: float,
    ) -> tuple[int, bytes]:
        """See :meth:`carrier_adapters.transport.Transport.post`."""
        request = Request("POST", url, body, content_type, operator, timeout, connect_timeout)
        reply = await self._dispatch(request)
        return reply.status, reply.content

    async def get(self, url: str, *, operator: str, timeout: float) -> int:  # noqa: ASYNC109
        """See :meth:`carrier_adapters.transport.Transport.get`."""
        reply = await self._dispatch(Request("GET", url, b"", None, operator, timeout, None))
        return reply.status

    async def aclose(self) -> None:
        """Mark the fake closed (as a production transport closes its connections)."""
        self.closed = True

    def _route(self, method: str, target: str) -> Route:
        for route in self.routes:
            if (route.method, route.target) == (method, target):
                return route
        route = Route(method, target)
        self.routes.append(route)
        return route

    async def _dispatch(self, request: Request) -> Answer:
        self.requests.append(request)
        route = next((r for r in self.routes if r.matches(request.method, request.url)), None)
        if route is None:
            raise AssertionError(f"FakeTransport: no route for {request.method} {request.url}")
        try:
            async with asyncio.timeout(request.timeout):
                return await route.answer(request)
        except TimeoutError:
            raise timed_out(request.operator) from None
