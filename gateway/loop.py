"""Which asyncio event loop a gateway process runs on.

``uvloop`` (libuv) runs aiohttp's server and client with less CPU per request than the standard
library's selector loop; ``bench/`` measures both (``--loop``). ``auto``, the default, takes uvloop
where it is installed and the standard loop otherwise, so the gateway still runs on a platform
without a uvloop wheel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

__all__ = ["LoopKind", "loop_factory", "run"]

T = TypeVar("T")
LoopKind = Literal["auto", "uvloop", "asyncio"]


def loop_factory(kind: LoopKind) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop constructor for ``kind``; None means asyncio's default.

    :raises RuntimeError: ``kind`` is ``uvloop`` and uvloop is not installed.
    """
    if kind == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if kind == "uvloop":
            raise RuntimeError("GATEWAY_EVENT_LOOP=uvloop but uvloop is not installed") from None
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], kind: LoopKind = "auto") -> T:
    """Run ``main`` to completion on a new loop of ``kind`` (as :func:`asyncio.run` does)."""
    with asyncio.Runner(loop_factory=loop_factory(kind)) as runner:
        return runner.run(main)
