"""The operators' outbound side: delivery reports and replies POSTed to the gateway's callback URL.

``docs/operator-dialects.md``, "Common SMS rules": a callback leaves after a delay, any 2xx
acknowledges it, anything else is retried after each of the configured delays, then given up.
Every attempt is built afresh (the dialects sign with the time of sending). Logs name the operator
and the outcome, never the body (it holds phone numbers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import aiohttp
import structlog

__all__ = ["Callback", "CallbackPoster"]

_log = structlog.get_logger(__name__)
_TIMEOUT: Final = aiohttp.ClientTimeout(total=5)


@dataclass(frozen=True, slots=True)
class Callback:
    """One signed callback request: the body and its headers (``Content-Type`` included)."""

    body: bytes
    headers: Mapping[str, str]


class CallbackPoster:
    """POSTs callbacks to ``{base_url}/operator-callbacks/{operator}`` in background tasks.

    With ``base_url`` None nothing is ever sent. :meth:`close` cancels what is pending and closes
    the HTTP session; :meth:`cancel_pending` only cancels.
    """

    def __init__(self, base_url: str | None, *, delay: float, retry_delays: Sequence[float]) -> None:
        self._base_url = base_url
        self._delay = delay
        self._retry_delays = tuple(retry_delays)
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    @property
    def enabled(self) -> bool:
        """Whether callbacks are sent at all."""
        return self._base_url is not None

    @property
    def pending(self) -> int:
        """Callbacks not yet acknowledged or given up."""
        return len(self._tasks)

    def post(self, operator: str, build: Callable[[], Callback], *, delay: float | None = None) -> None:
        """Send ``build()`` for ``operator`` after ``delay`` (default the configured report delay)."""
        if self._base_url is None:
            return
        url = f"{self._base_url}/operator-callbacks/{operator}"
        task = asyncio.get_running_loop().create_task(
            self._deliver(operator, url, build, self._delay if delay is None else delay)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel_pending(self) -> None:
        """Give up every callback not yet acknowledged."""
        for task in list(self._tasks):
            task.cancel()

    async def close(self) -> None:
        """Cancel pending callbacks and close the HTTP session."""
        tasks = list(self._tasks)
        self.cancel_pending()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _deliver(self, operator: str, url: str, build: Callable[[], Callback], delay: float) -> None:
        await asyncio.sleep(delay)
        waits = (*self._retry_delays, None)
        for attempt, wait in enumerate(waits, start=1):
            outcome = await self._attempt(url, build())
            if outcome is None:
                _log.info("sandbox.callback_delivered", operator=operator, attempt=attempt)
                return
            _log.info("sandbox.callback_failed", operator=operator, attempt=attempt, outcome=outcome)
            if wait is None:
                break
            await asyncio.sleep(wait)
        _log.warning("sandbox.callback_given_up", operator=operator, attempts=len(waits))

    async def _attempt(self, url: str, callback: Callback) -> str | None:
        """None when acknowledged, else what went wrong."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        try:
            async with self._session.post(
                url, data=callback.body, headers=dict(callback.headers), allow_redirects=False
            ) as response:
                await response.read()
                return None if 200 <= response.status < 300 else f"HTTP {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return type(exc).__name__
