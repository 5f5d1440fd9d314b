"""Baseline of the benchmarks: the least work that answers from China Mobile calls.

A bare aiohttp app whose routes post signed requests to the operator over one shared
``aiohttp.ClientSession`` (docs/operator-dialects.md):

- ``POST /one-tap/v1/login`` ``{"token"}`` (:mod:`bench.one_tap`): China Mobile's
  ``loginTokenValidate`` (MD5 sign, random msgid, 17-digit Beijing ``systemtime``); answers
  ``200 {"phoneNumber": "+86<msisdn>"}``, ``422`` when the operator's ``resultCode`` is not ``103000``;
- ``POST /sim-swap/v2/check`` ``{"phoneNumber": "+86<11 digits>", "maxAge"?: hours (240)}``
  (:mod:`bench.identity`): the line query ``simChangeQuery`` (``tokenValidate`` envelope, HMAC-SHA256
  sign); answers ``200 {"swapped": bool}`` (true iff the disclosed ``changeTime`` lies within
  ``maxAge`` hours of now; "no change within the window" and "no record" are false);
- ``POST /login-check/v1/evaluate`` ``{"phoneNumber", "deviceId"}`` (:mod:`bench.identity`): the
  two operator calls of the gateway's login check without one-tap token, ``simChangeQuery`` and
  ``deviceChangeQuery`` (same envelope and sign), sent concurrently; answers ``200 {"simSwapped":
  bool, "deviceSwapped": bool}`` (each as the SIM route decides, ``maxAge`` 240 h). No device
  registry, no velocity limits, no decision: ``deviceId`` is only checked to be a non-empty string.

The line-query routes answer ``400`` for a body they cannot read and ``404`` for a number the
operator does not serve (the SIM answer's refusal first, for the evaluation); every route answers
``502`` when the operator's answer is unusable. No auth, no database, no access log: the gateway's
throughput is reported as a fraction of this app's. ``GET /healthz`` exists for the harness only.

Run: ``python -m bench.passthrough --port P --upstream http://127.0.0.1:<sandbox port>/cmcc
--app-id ID --app-key KEY [--loop uvloop|asyncio]`` (``--upstream`` is the operator's base URL, as
``GATEWAY_CMCC_URL``; ``--loop`` the event loop, default uvloop, as the gateway's ``EVENT_LOOP``).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import re
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web

from gateway.loop import loop_factory

__all__ = [
    "DEVICE_HISTORY_PATH",
    "LOGIN_PATH",
    "SIM_HISTORY_PATH",
    "Refusal",
    "Upstream",
    "beijing_systemtime",
    "history_swapped",
    "line_query_request",
    "login_request",
    "main",
    "make_app",
    "parse_beijing_systemtime",
    "swapped_within",
]

LOGIN_PATH = "/unisdk/rsapi/loginTokenValidate"
ROUTE = "/one-tap/v1/login"
VERSION = "2.0"
STRICT_CHECK = "0"
SUCCESS = "103000"
BEIJING = dt.timezone(dt.timedelta(hours=8))
SIM_HISTORY_PATH = "/openapi/rs/simChangeQuery"
DEVICE_HISTORY_PATH = "/openapi/rs/deviceChangeQuery"
SIM_ROUTE = "/sim-swap/v2/check"
EVALUATE_ROUTE = "/login-check/v1/evaluate"
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

    @property
    def device_history_url(self) -> str:
        return self.base_url.rstrip("/") + DEVICE_HISTORY_PATH


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


def line_query_request(
    upstream: Upstream, national: str, *, msg_id: str, now: dt.datetime
) -> dict[str, object]:
    """The signed line-query envelope (``simChangeQuery``, ``deviceChangeQuery``) for ``national``."""
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


class Refusal(Exception):
    """The answer a route gives instead of a verdict: its HTTP status and code."""

    def __init__(self, status: int, code: str) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code

    def response(self) -> web.Response:
        return _error(self.status, self.code)


def history_swapped(answer: object, max_age_hours: int, now: dt.datetime) -> bool:
    """Whether a line-query answer discloses a change within ``max_age_hours`` of ``now``.

    ``001`` (no change within the operator's window) and ``002`` (no record) are false.

    :raises Refusal: 404 for a number the operator does not serve (``201``), 502 for anything else
        unusable (another code, a missing or malformed ``changeTime``, no answer at all).
    """
    header = answer.get("header") if isinstance(answer, dict) else None
    body = answer.get("body") if isinstance(answer, dict) else None
    code = header.get("resultCode") if isinstance(header, dict) else None
    if code in HISTORY_SILENT:
        return False
    if code == NOT_SERVED:
        raise Refusal(404, "IDENTIFIER_NOT_FOUND")
    change_time = body.get("changeTime") if isinstance(body, dict) else None
    if code != HISTORY_DISCLOSED or not isinstance(change_time, str):
        raise Refusal(502, "BAD_GATEWAY")
    try:
        return swapped_within(change_time, max_age_hours, now)
    except ValueError:
        raise Refusal(502, "BAD_GATEWAY") from None


async def _read_object(request: web.Request) -> dict[str, object]:
    try:
        payload = await request.json()
    except ValueError:
        raise Refusal(400, "INVALID_ARGUMENT") from None
    if not isinstance(payload, dict):
        raise Refusal(400, "INVALID_ARGUMENT")
    return payload


def _national(payload: dict[str, object]) -> str:
    number = payload.get("phoneNumber")
    matched = _CMCC_NUMBER.fullmatch(number) if isinstance(number, str) else None
    if matched is None:
        raise Refusal(400, "INVALID_ARGUMENT")
    return matched.group(1)


async def _line_query(session: aiohttp.ClientSession, url: str, upstream: Upstream, national: str) -> object:
    body = line_query_request(upstream, national, msg_id=uuid.uuid4().hex, now=dt.datetime.now(dt.UTC))
    try:
        async with session.post(url, json=body) as response:
            if response.status != 200:
                return None
            return await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None


async def sim_swap_check(request: web.Request) -> web.Response:
    """``POST /sim-swap/v2/check``: one signed SIM-history query and the age comparison, nothing else."""
    try:
        payload = await _read_object(request)
        national = _national(payload)
        max_age = payload.get("maxAge", DEFAULT_MAX_AGE_H)
        if type(max_age) is not int or max_age < 1:
            raise Refusal(400, "INVALID_ARGUMENT")
        upstream = request.app[UPSTREAM]
        answer = await _line_query(request.app[SESSION], upstream.sim_history_url, upstream, national)
        swapped = history_swapped(answer, max_age, dt.datetime.now(dt.UTC))
    except Refusal as refusal:
        return refusal.response()
    return web.json_response({"swapped": swapped})


async def login_check(request: web.Request) -> web.Response:
    """``POST /login-check/v1/evaluate``: SIM and device history queried concurrently, nothing else."""
    try:
        payload = await _read_object(request)
        national = _national(payload)
        device_id = payload.get("deviceId")
        if not isinstance(device_id, str) or not device_id:
            raise Refusal(400, "INVALID_ARGUMENT")
        session, upstream = request.app[SESSION], request.app[UPSTREAM]
        sim, device = await asyncio.gather(
            _line_query(session, upstream.sim_history_url, upstream, national),
            _line_query(session, upstream.device_history_url, upstream, national),
        )
        now = dt.datetime.now(dt.UTC)
        sim_swapped = history_swapped(sim, DEFAULT_MAX_AGE_H, now)
        device_swapped = history_swapped(device, DEFAULT_MAX_AGE_H, now)
    except Refusal as refusal:
        return refusal.response()
    return web.json_response({"simSwapped": sim_swapped, "deviceSwapped": device_swapped})


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
    app.router.add_post(EVALUATE_ROUTE, login_check)
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
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop", help="event loop")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _parse(argv)
    upstream = Upstream(base_url=args.upstream, app_id=args.app_id, app_key=args.app_key)
    loop = (loop_factory(args.loop) or asyncio.new_event_loop)()
    web.run_app(make_app(upstream), host=args.host, port=args.port, access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
