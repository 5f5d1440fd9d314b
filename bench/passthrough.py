"""Baseline of the one-tap benchmark: the least work that turns a China Mobile SDK token into a number.

A bare aiohttp app with one route, ``POST /one-tap/v1/login`` ``{"token"}``: it builds China Mobile's
``loginTokenValidate`` request (docs/operator-dialects.md: MD5 sign, random msgid, 17-digit Beijing
``systemtime``), posts it to the operator over one shared ``aiohttp.ClientSession`` and answers
``200 {"phoneNumber": "+86<msisdn>"}``, ``422`` when the operator's ``resultCode`` is not ``103000``,
``502`` when the operator's answer is unusable. No auth, no database, no access log: the gateway's
throughput is reported as a fraction of this app's. ``GET /healthz`` exists for the harness only.

Run: ``python -m bench.passthrough --port P --upstream http://127.0.0.1:<sandbox port>/cmcc
--app-id ID --app-key KEY`` (``--upstream`` is the operator's base URL, as ``GATEWAY_CMCC_URL``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import aiohttp
from aiohttp import web

__all__ = ["LOGIN_PATH", "Upstream", "beijing_systemtime", "login_request", "main", "make_app"]

LOGIN_PATH = "/unisdk/rsapi/loginTokenValidate"
ROUTE = "/one-tap/v1/login"
VERSION = "2.0"
STRICT_CHECK = "0"
SUCCESS = "103000"
BEIJING = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True, slots=True)
class Upstream:
    """Where the operator is and how this app is registered with it."""

    base_url: str
    app_id: str
    app_key: str

    @property
    def login_url(self) -> str:
        return self.base_url.rstrip("/") + LOGIN_PATH


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
    app.router.add_get("/healthz", healthz)
    return app


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.passthrough", description="Bare one-tap pass-through (benchmark baseline)"
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
