"""The event loop setting: each kind runs the coroutine on the loop it names."""

from __future__ import annotations

import asyncio

import pytest
import uvloop
from pydantic import ValidationError

from gateway.loop import loop_factory, run
from gateway.settings import Settings


async def _loop_type() -> type[asyncio.AbstractEventLoop]:
    return type(asyncio.get_running_loop())


@pytest.mark.parametrize(("kind", "expected"), [("uvloop", uvloop.Loop), ("auto", uvloop.Loop)])
def test_uvloop_kinds_run_on_uvloop(kind: str, expected: type) -> None:
    """``uvloop`` and ``auto`` (uvloop is installed here) run the coroutine on uvloop's loop."""
    assert issubclass(run(_loop_type(), kind), expected)  # type: ignore[arg-type]


def test_asyncio_kind_runs_on_the_standard_loop() -> None:
    """``asyncio`` keeps the standard library's loop, whatever is installed."""
    assert loop_factory("asyncio") is None
    assert not issubclass(run(_loop_type(), "asyncio"), uvloop.Loop)


def test_settings_accept_only_known_loops() -> None:
    """GATEWAY_EVENT_LOOP is one of auto, uvloop, asyncio."""
    assert Settings(event_loop="asyncio").event_loop == "asyncio"
    with pytest.raises(ValidationError):
        Settings(event_loop="trio")
