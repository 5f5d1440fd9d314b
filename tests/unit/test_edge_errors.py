"""Errors at the edges: an unreachable Redis is 503 UNAVAILABLE, 405 lists the allowed methods,
pattern mismatches are described in words, a missing scope is named, and aiohttp's refusals map to
the contract's 400."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from aiohttp import http_exceptions, web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.errors import ApiError, MethodNotAllowed, Unavailable, from_http_status
from gateway.middleware import SERVER, gateway_middleware
from gateway.ratelimit import RedisRateLimiter
from gateway.replay import RedisReplayCache
from gateway.serving import refusal
from gateway.wire import E164, describe_validation_error
from tests.ports import free_port


@pytest.fixture
async def unreachable_redis() -> AsyncIterator[aioredis.Redis]:
    """A client of a Redis that refuses connections."""
    client = aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1.0)
    yield client
    await client.aclose()


async def test_replay_cache_outage_is_unavailable(unreachable_redis: aioredis.Redis) -> None:
    """A claim or release that cannot reach Redis is 503 UNAVAILABLE with Retry-After, never a "yes"."""
    cache = RedisReplayCache(unreachable_redis)
    for call in (cache.claim("token", 60), cache.release("token")):
        with pytest.raises(Unavailable) as raised:
            await call
        assert raised.value.status == 503 and raised.value.headers == {"Retry-After": "1"}


async def test_rate_limiter_outage_is_unavailable(unreachable_redis: aioredis.Redis) -> None:
    """A hit that cannot be counted raises 503 UNAVAILABLE with Retry-After."""
    with pytest.raises(Unavailable) as raised:
        await RedisRateLimiter(unreachable_redis).hit("key", 5, 60)
    assert raised.value.headers == {"Retry-After": "1"}


def test_method_not_allowed_lists_the_methods() -> None:
    """A 405 carries Allow with the route's methods; its message names them."""
    error = from_http_status(405, "Method Not Allowed", allowed_methods={"POST", "GET"})
    assert isinstance(error, MethodNotAllowed)
    assert error.headers == {"Allow": "GET, POST"}
    assert "GET, POST" in error.message


async def test_framework_405_and_every_answer_carry_the_plain_server_token() -> None:
    """aiohttp's own 405 becomes the contract's body with Allow; 200, 404 and 405 say Server:
    carrier-gateway without a version."""

    async def hello(_: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application(middlewares=[gateway_middleware])
    app.router.add_post("/only-post", hello)
    app.router.add_get("/ok", hello)
    async with TestClient(TestServer(app)) as client:
        refused = await client.get("/only-post")
        assert refused.status == 405 and refused.headers["Allow"] == "POST"
        assert (await refused.json())["code"] == "METHOD_NOT_ALLOWED"
        for resp in (refused, await client.get("/ok"), await client.get("/nowhere")):
            assert resp.headers["Server"] == SERVER


class _Phone(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phoneNumber: str = Field(pattern=E164)
    other: str = Field(default="x", pattern=r"^[a-z]$")


def test_pattern_mismatches_are_described_in_words() -> None:
    """A phone number that is not E.164 says what is expected; an undescribed pattern says the
    format is wrong; neither repeats the regular expression or the value."""
    with pytest.raises(ValidationError) as raised:
        _Phone.model_validate({"phoneNumber": "13912345678", "other": "ABC"})
    message = describe_validation_error(raised.value)
    assert "phoneNumber: expected E.164 with a leading +, e.g. +8613800000000" in message
    assert "other: not in the expected format" in message
    assert "pattern" not in message and "^" not in message and "13912345678" not in message


@pytest.mark.parametrize(
    ("exc", "fragment"),
    [
        (http_exceptions.BadHttpMethod("G(ET"), "method"),
        (http_exceptions.LineTooLong(b"X-Big", "8190"), "too long"),
        (http_exceptions.BadStatusLine("HTTP/9.9"), "request line"),
        (http_exceptions.TransferEncodingError("zz"), "framing"),
        (http_exceptions.BadHttpMessage("Invalid header value char: X-Evil"), "not well-formed"),
    ],
)
def test_refusals_name_the_fault_without_the_bytes(exc: Exception, fragment: str) -> None:
    """Each kind of request aiohttp refuses is 400 INVALID_ARGUMENT whose message names the kind."""
    error = refusal(400, exc)
    assert (error.status, error.code) == (400, "INVALID_ARGUMENT")
    assert fragment in error.message
    assert "X-Evil" not in error.message and "HTTP/9.9" not in error.message and "zz" not in error.message


def test_failures_outside_the_middleware_stay_generic() -> None:
    """A 500 or 504 from aiohttp's protocol is the contract's generic error for that status."""
    assert refusal(500, RuntimeError("details")).body() == ApiError().body()
    assert refusal(504, None).status == 504
