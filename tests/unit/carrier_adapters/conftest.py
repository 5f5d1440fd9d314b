"""Fixtures for adapter tests: the in-memory transport the adapters call, and a leak check."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator

import pytest

from carrier_adapters.testing import FakeTransport

LeakCheck = Callable[..., None]


@pytest.fixture
def transport() -> Iterator[FakeTransport]:
    """The adapters' transport; fails the test if one of its routes was never called."""
    fake = FakeTransport()
    yield fake
    uncalled = [f"{route.method} {route.target}" for route in fake.uncalled()]
    assert not uncalled, f"routes never called: {uncalled}"


def _assert_no_leak(error: BaseException, *secrets: str) -> None:
    rendered = "".join(traceback.format_exception(error)) + repr(error) + str(error)
    leaked = [secret[:6] + "…" for secret in secrets if secret in rendered]
    assert not leaked, f"the error's rendering leaks {leaked}"


@pytest.fixture
def assert_no_leak() -> LeakCheck:
    """``assert_no_leak(error, *secrets)``: no secret in the error's message, repr or printed traceback."""
    return _assert_no_leak
