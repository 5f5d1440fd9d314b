"""The carrier-error translation table, database failures as 503, and the rule that every route
declares an auth policy."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy.exc
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from carrier_adapters import (
    CarrierError,
    CarrierProtocolError,
    CarrierRejected,
    CarrierTimeout,
    CarrierUnavailable,
    NumberNotServed,
    TokenRejected,
)
from gateway import app as app_module
from gateway.app import create_app
from gateway.auth import policy_of
from gateway.errors import from_carrier_error
from gateway.middleware import gateway_middleware
from gateway.settings import Settings


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (TokenRejected, 422, "ONE_TAP.TOKEN_INVALID"),
        (NumberNotServed, 422, "ONE_TAP.OPERATOR_MISMATCH"),
        (CarrierUnavailable, 503, "UNAVAILABLE"),
        (CarrierTimeout, 504, "TIMEOUT"),
        (CarrierRejected, 502, "BAD_GATEWAY"),
        (CarrierProtocolError, 502, "BAD_GATEWAY"),
        (CarrierError, 502, "BAD_GATEWAY"),
    ],
)
def test_carrier_errors_map_to_contract_codes(error: type[CarrierError], status: int, code: str) -> None:
    """Each adapter failure becomes exactly one contract error; operator codes never reach the client."""
    api = from_carrier_error(error("cmcc", "raw operator text", code="103505"))
    assert (api.status, api.code) == (status, code)
    assert "103505" not in api.message and "raw operator text" not in api.message


def test_every_route_declares_a_policy() -> None:
    """All routes of the real app carry public, admin or scope policies."""
    app = create_app(Settings())
    for route in app.router.routes():
        if route.method != "HEAD":
            assert policy_of(route.handler), f"{route.method} {route.resource}"


def test_a_route_without_policy_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a handler without a policy makes the app refuse to build."""
    table = web.RouteTableDef()

    @table.get("/leaky")
    async def leaky(_: web.Request) -> web.Response:
        return web.Response()

    monkeypatch.setattr(app_module, "_ROUTE_TABLES", (*app_module._ROUTE_TABLES, table))
    with pytest.raises(RuntimeError, match="no auth policy"):
        create_app(Settings())


async def test_a_locked_database_is_a_retryable_503_not_a_500() -> None:
    """SQLite's "database is locked" (or an unreachable database) answers 503 UNAVAILABLE with
    Retry-After in the contract's error shape and the correlator, never a 500 with details."""

    async def locked(_: web.Request) -> web.Response:
        raise sqlalchemy.exc.OperationalError(
            "INSERT ...", {}, sqlite3.OperationalError("database is locked")
        )

    app = web.Application(middlewares=[gateway_middleware])
    app.router.add_post("/locked", locked)
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/locked", headers={"x-correlator": "c-1"})
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "1" and resp.headers["x-correlator"] == "c-1"
        body = await resp.json()
        assert body["status"] == 503 and body["code"] == "UNAVAILABLE"
        assert "INSERT" not in body["message"]


async def test_an_exhausted_connection_pool_is_a_retryable_503_not_a_500() -> None:
    """Every pooled connection busy past the pool's timeout (the pool has no overflow) answers 503
    UNAVAILABLE with Retry-After, like a locked database: nothing was written."""

    async def exhausted(_: web.Request) -> web.Response:
        raise sqlalchemy.exc.TimeoutError("QueuePool limit of size 16 overflow 0 reached")

    app = web.Application(middlewares=[gateway_middleware])
    app.router.add_post("/exhausted", exhausted)
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/exhausted")
        assert resp.status == 503 and resp.headers["Retry-After"] == "1"
        body = await resp.json()
        assert body["code"] == "UNAVAILABLE" and "QueuePool" not in body["message"]


async def test_a_connection_lost_mid_statement_is_a_retryable_503_and_other_database_errors_500() -> None:
    """A DBAPI error that invalidated its connection (PostgreSQL restarted under a busy pool: the
    pool is renewed) answers 503 UNAVAILABLE with Retry-After; a DBAPI error that did not (here an
    integrity violation) stays a generic 500 without details."""

    async def lost(_: web.Request) -> web.Response:
        raise sqlalchemy.exc.InterfaceError(
            "SELECT 1", {}, ConnectionError("connection was closed"), connection_invalidated=True
        )

    async def violated(_: web.Request) -> web.Response:
        raise sqlalchemy.exc.IntegrityError("INSERT ...", {}, ValueError("duplicate key"))

    app = web.Application(middlewares=[gateway_middleware])
    app.router.add_get("/lost", lost)
    app.router.add_post("/violated", violated)
    async with TestClient(TestServer(app)) as client:
        resp = await client.get("/lost")
        assert resp.status == 503 and resp.headers["Retry-After"] == "1"
        assert (await resp.json())["code"] == "UNAVAILABLE"
        resp = await client.post("/violated")
        assert resp.status == 500
        body = await resp.json()
        assert body["code"] == "INTERNAL" and "duplicate" not in body["message"]
