"""A trivial JSON echo server: the upstream of :mod:`bench.transports`.

``POST /echo`` answers 200 with the request body as ``application/json``; ``GET /healthz`` answers
200. It does no work of its own, so that the transport benchmark measures the HTTP clients.

Run: ``python -m bench.echo --port P``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from aiohttp import web

__all__ = ["ECHO_PATH", "main", "make_app"]

ECHO_PATH = "/echo"


async def echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read(), content_type="application/json")


async def healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_post(ECHO_PATH, echo)
    app.router.add_get("/healthz", healthz)
    return app


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.echo", description="JSON echo server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    web.run_app(make_app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
