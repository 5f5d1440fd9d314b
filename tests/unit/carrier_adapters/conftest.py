"""Fixtures for adapter tests: a respx router behind an injected httpx client, and a leak check."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
import respx

OPERATOR_ROOT = "http://operator.test"

LeakCheck = Callable[..., None]


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    """A respx router for ``OPERATOR_ROOT`` that fails the test if one of its routes was never called."""
    with respx.MockRouter(base_url=OPERATOR_ROOT, assert_all_called=True, using=None) as mock_router:
        yield mock_router


@pytest.fixture
async def client(router: respx.MockRouter) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client whose transport is the router (no patching of httpx)."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as mock_client:
        yield mock_client


def _assert_no_leak(error: BaseException, *secrets: str) -> None:
    rendered = "".join(traceback.format_exception(error)) + repr(error) + str(error)
    leaked = [secret[:6] + "…" for secret in secrets if secret in rendered]
    assert not leaked, f"the error's rendering leaks {leaked}"


@pytest.fixture
def assert_no_leak() -> LeakCheck:
    """``assert_no_leak(error, *secrets)``: no secret in the error's message, repr or printed traceback."""
    return _assert_no_leak
