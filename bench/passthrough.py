"""Baseline of the benchmarks: the least work that answers from one China Mobile call.

A bare aiohttp app with two routes, each posting one signed request to the operator over one
shared ``aiohttp.ClientSession`` (docs/operator-dialects.md):

- ``POST /one-tap/v1/login`` ``{"token"}`` (:mod:`bench.one_tap`): China Mobile's
  ``loginTokenValidate`` (MD5 sign, random msgid, 17-digit Beijing ``systemtime``); answers
  ``200 {"phoneNumber": "+86<msisdn>"}``, ``422`` when the operator's ``resultCode`` is not ``103000``;
- ``POST /sim-swap/v2/check`` ``{"phoneNumber": "+86<11 digits>", "maxAge"?: hours (240)}``
  (:mod:`bench.identity`): the line query ``simChangeQuery`` (``tokenValidate`` envelope, HMAC-SHA256
  sign); answers ``200 {"swapped": bool}`` (true iff the disclosed ``changeTime`` lies within
  ``maxAge`` hours of now; "no change within the window" and "no record" are false), ``400`` for a
  body it cannot read, ``404`` for a number the operator does not serve.

Both answer ``502`` when the operator's answer is unusable. No auth, no database, no access log:
the gateway's throughput is reported as a fraction of this app's. ``GET /healthz`` exists for the
harness only.

Run: ``python -m bench.passthrough --port P --upstream http://127.0.0.1:<sandbox port>/cmcc
--app-id ID --app-key KEY`` (``--upstream`` is the operator's base URL, as ``GATEWAY_CMCC_URL``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web

__all__ = [
    "LOGIN_PATH",
    "SIM_HISTORY_PATH",
    "Upstream",
    "beijing_systemtime",
    "login_request",
    "main",
    "make_app",
    "parse_beijing_systemtime",
    "sim_history_request",
    "swapped_within",
]

LOGIN_PATH = "/unisdk/rsapi/loginTokenValidate"
ROUTE = "/one-tap/v1/login"
VERSION = "2.0"
STRICT_CHECK = "0"
SUCCESS = "103000"
BEIJING = dt.timezone(dt.timedelta(hours=8))
SIM_HISTORY_PATH = "/openapi/rs/simChangeQuery"
SIM_ROUTE = "/sim-swap/v2/check"
QUERY_VERSION = "1.0"
HISTORY_DISCLOSED = "000"
HISTORY_SILENT = ("001", "002")  # no change within the window; no record
NOT_SERVED = "201"
DEFAULT_MAX_AGE_H = 240
_CMCC_NUMBER = re.compile(r"\+86(1[0-9]{10})")


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where the operator is and how this app is registered with it."""

    base_url: str
    app_id: str
    app_key: str

    @property
    def login_url(self) -> str:
        return self.base_url.rstrip("/") + LOGIN_PATH

    @property
    def sim_history_url(self) -> str:
        return self.base_url.rstrip("/") + SIM_HISTORY_PATH


UPSTREAM = web.AppKey("upstream", Upstream)
SESSION = web.AppKey("session", aiohttp.ClientSession)


def beijing_systemtime(now: dt.datetime) -> str:
    """``yyyyMMddHHmmssSSS`` in Beijing time (UTC+8); ``now`` must be timezone-aware."""
    local = now.astimezone(BEIJING)
    return local.strftime("%Y%m%d%H%M%S") + f"{local.microsecond // 1000:03d}"


def login_request(upstream: Upstream, token: str, *, msgid: str, now: dt.datetime) -> dict[str, str]:
    """The signed ``loginTokenValidate`` body for ``token``."""
    systemtime = beijing_systemtime(now)
    material = upstream.app_id + VERSION + msgid + systemtime + STRICT_CHECK + token + upstream.app_key
    sign = hashlib.md5(material.encode(), usedforsecurity=False).hexdigest().upper()
    return {
        "version": VERSION,
        "msgid": msgid,
        "systemtime": systemtime,
        "strictcheck": STRICT_CHECK,
        "appid": upstream.app_id,
        "token": token,
        "sign": sign,
    }


def parse_beijing_systemtime(value: str) -> dt.datetime:
    """The instant of a ``yyyyMMddHHmmssSSS`` Beijing-time stamp.

    :raises ValueError: if ``value`` is not 17 digits of a valid date and time.
    """
    if len(value) != 17 or not value.isdigit():
        raise ValueError(f"not a 17-digit systemtime: {value!r}")
    local = dt.datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=BEIJING)
    return local + dt.timedelta(milliseconds=int(value[14:]))


def sim_history_request(
    upstream: Upstream, national: str, *, msg_id: str, now: dt.datetime
) -> dict[str, object]:
    """The signed ``simChangeQuery`` envelope for the national number ``national``."""
    timestamp = beijing_systemtime(now)
    material = upstream.app_id + msg_id + national + timestamp + QUERY_VERSION
    sign = hmac.new(upstream.app_key.encode(), material.encode(), hashlib.sha256).hexdigest().upper()
    return {
        "header": {
            "version": QUERY_VERSION,
            "msgId": msg_id,
            "timestamp": timestamp,
            "appId": upstream.app_id,
        },
        "body": {"msisdn": national, "sign": sign},
    }


def swapped_within(change_time: str, max_age_hours: int, now: dt.datetime) -> bool:
    """Whether a disclosed ``changeTime`` lies within ``max_age_hours`` of ``now`` (a future one does).

    :raises ValueError: if ``change_time`` is malformed.
    """
    return now - parse_beijing_systemtime(change_time) <= dt.timedelta(hours=max_age_hours)


def _error(status: int, code: str) -> web.Response:
    return web.json_response({"status": status, "code": code}, status=status)


async def _read_token(request: web.Request) -> str | None:
    try:
        payload = await request.json()
    except ValueError:
        return None
    token = payload.get("token") if isinstance(payload, dict) else None
    return token if isinstance(token, str) and token else None


async def _validate(session: aiohttp.ClientSession, upstream: Upstream, token: str) -> object:
    body = login_request(upstream, token, msgid=uuid.uuid4().hex, now=dt.datetime.now(dt.UTC))
    try:
        async with session.post(upstream.login_url, json=body) as response:
            if response.status != 200:
                return None
            return await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def login(request: web.Request) -> web.Response:
    """``POST /one-tap/v1/login``: exchange the token for the number, nothing else."""
    token = await _read_token(request)
    if token is None:
        return _error(400, "INVALID_ARGUMENT")
    answer = await _validate(request.app[SESSION], request.app[UPSTREAM], token)
    if not isinstance(answer, dict) or "resultCode" not in answer:
        return _error(502, "BAD_GATEWAY")
    if answer["resultCode"] != SUCCESS or not isinstance(answer.get("msisdn"), str):
        return _error(422, "ONE_TAP.TOKEN_INVALID")
    return web.json_response({"phoneNumber": "+86" + answer["msisdn"]})


async def _read_sim_check(request: web.Request) -> tuple[str, int] | None:
    try:
        payload = await request.json()
    except ValueError:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("phoneNumber"), str):
        return None
    number = _CMCC_NUMBER.fullmatch(payload["phoneNumber"])
    max_age = payload.get("maxAge", DEFAULT_MAX_AGE_H)
    if number is None or type(max_age) is not int or max_age < 1:
        return None
    return number.group(1), max_age


async def _sim_history(session: aiohttp.ClientSession, upstream: Upstream, national: str) -> object:
    body = sim_history_request(upstream, national, msg_id=uuid.uuid4().hex, now=dt.datetime.now(dt.UTC))
    try:
        async with session.post(upstream.sim_history_url, json=body) as response:
            if response.status != 200:
                return None
            return await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def sim_swap_check(request: web.Request) -> web.Response:
    """``POST /sim-swap/v2/check``: one signed SIM-history query and the age comparison, nothing else."""
    query = await _read_sim_check(request)
    if query is None:
        return _error(400, "INVALID_ARGUMENT")
    national, max_age = query
    answer = await _sim_history(request.app[SESSION], request.app[UPSTREAM], national)
    header = answer.get("header") if isinstance(answer, dict) else None
    body = answer.get("body") if isinstance(answer, dict) else None
    code = header.get("resultCode") if isinstance(header, dict) else None
    if code in HISTORY_SILENT:
        return web.json_response({"swapped": False})
    if code == NOT_SERVED:
        return _error(404, "IDENTIFIER_NOT_FOUND")
    change_time = body.get("changeTime") if isinstance(body, dict) else None
    if code != HISTORY_DISCLOSED or not isinstance(change_time, str):
        return _error(502, "BAD_GATEWAY")
    try:
        swapped = swapped_within(change_time, max_age, dt.datetime.now(dt.UTC))
    except ValueError:
        return _error(502, "BAD_GATEWAY")
    return web.json_response({"swapped": swapped})


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _client_session(app: web.Application) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=100)
    timeout = aiohttp.ClientTimeout(total=3.0, connect=1.0)
    app[SESSION] = aiohttp.ClientSession(connector=connector, timeout=timeout)
    yield
    await app[SESSION].close()


def make_app(upstream: Upstream) -> web.Application:
    """The pass-through app, talking to ``upstream``."""
    app = web.Application()
    app[UPSTREAM] = upstream
    app.cleanup_ctx.append(_client_session)
    app.router.add_post(ROUTE, login)
    app.router.add_post(SIM_ROUTE, sim_swap_check)
    app.router.add_get("/healthz", healthz)
    return app


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.passthrough", description="Bare cmcc pass-through (benchmark baseline)"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--upstream", required=True, help="operator base URL, e.g. http://127.0.0.1:8090/cmcc"
    )
    parser.add_argument("--app-id", required=True)
    parser.add_argument("--app-key", required=True)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse(argv)
    upstream = Upstream(base_url=args.upstream, app_id=args.app_id, app_key=args.app_key)
    web.run_app(make_app(upstream), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
