"""The sandbox operators with SMS callbacks, for :mod:`bench.push`.

``gateway sandbox`` starts the operators without a callback URL (no delivery reports); this runs
the same app with ``SandboxConfig.callback_base_url`` set, so every accepted SMS is followed by a
signed delivery report POSTed to ``{callback_base_url}/operator-callbacks/{operator}``. The apps'
credentials come from ``GATEWAY_<OP>_APP_ID`` / ``GATEWAY_<OP>_APP_KEY`` (all three required).

Run: ``python -m bench.callback_sandbox --port P --callback-base-url http://127.0.0.1:<gateway port>``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

from aiohttp import web

from sandbox import AppCredentials, SandboxConfig, create_sandbox_app
from sandbox.config import OPERATORS

__all__ = ["main"]


def _config(callback_base_url: str) -> SandboxConfig:
    apps: dict[str, AppCredentials] = {
        op: AppCredentials(
            app_id=os.environ[f"GATEWAY_{op.upper()}_APP_ID"],
            app_key=os.environ[f"GATEWAY_{op.upper()}_APP_KEY"],
        )
        for op in OPERATORS
    }
    return SandboxConfig(apps=apps, callback_base_url=callback_base_url)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.callback_sandbox")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--callback-base-url", required=True)
    args = parser.parse_args(argv)
    app = create_sandbox_app(_config(args.callback_base_url))
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
