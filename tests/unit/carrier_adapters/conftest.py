"""Fixtures for adapter tests: a respx router behind an injected httpx client, and a leak check.

Every test taking ``client`` runs twice: with a plain ``httpx.AsyncClient`` (the adapters build
httpx requests) and with a client that also offers ``post_body`` (a
:class:`~carrier_adapters.BodyPoster`, as the gateway's production client does: the adapters hand
it the URL and the body). Both reach the same router.
"""

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


class BodyPostingClient(httpx.AsyncClient):
    """An httpx client that is also a :class:`~carrier_adapters.BodyPoster`: ``post_body`` sends
    the body as an httpx request carrying the operator and timeouts, and counts its calls."""

    posted = 0

    async def post_body(
        self,
        url: str,
        body: bytes,
        content_type: str,
        *,
        operator: str,
        read_timeout: float,
        connect_timeout: float,
    ) -> tuple[int, bytes]:
        self.posted += 1
        request = self.build_request(
            "POST",
            url,
            content=body,
            headers={"Content-Type": content_type},
            timeout=httpx.Timeout(read_timeout, connect=connect_timeout),
            extensions={"operator": operator},
        )
        response = await self.send(request)
        return response.status_code, response.content


@pytest.fixture(params=["httpx", "body-poster"])
async def client(
    request: pytest.FixtureRequest, router: respx.MockRouter
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client whose transport is the router (no patching of httpx); with the
    ``body-poster`` parameter every POST the router saw must have come through ``post_body``."""
    transport = httpx.MockTransport(router.async_handler)
    if request.param == "httpx":
        async with httpx.AsyncClient(transport=transport) as mock_client:
            yield mock_client
        return
    async with BodyPostingClient(transport=transport) as poster:
        yield poster
    assert poster.posted == sum(1 for call in router.calls if call.request.method == "POST")


def _assert_no_leak(error: BaseException, *secrets: str) -> None:
    rendered = "".join(traceback.format_exception(error)) + repr(error) + str(error)
    leaked = [secret[:6] + "…" for secret in secrets if secret in rendered]
    assert not leaked, f"the error's rendering leaks {leaked}"


@pytest.fixture
def assert_no_leak() -> LeakCheck:
    """``assert_no_leak(error, *secrets)``: no secret in the error's message, repr or printed traceback."""
    return _assert_no_leak
