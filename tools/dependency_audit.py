"""``make lint``'s dependency audit: pip-audit when a vulnerability service answers, else a loud NOT RUN.

pip-audit says "No known vulnerabilities found" even when its service knew none of the packages
(each one "not found on PyPI": a mirror without PyPI's per-release JSON API, or osv.dev out of
reach), so an audit that did not happen would look like a clean one. Each service is therefore
first asked about a canary, a release with published advisories (Jinja2 2.10: CVE-2019-10906
and others). The first service that names them runs the audit, ``pip-audit --strict
--skip-editable -s <service>`` over this interpreter's environment, and its exit status is
returned (``--strict`` also fails on any package the service cannot audit). When none does, one
line ``pip-audit NOT RUN: <reasons>`` goes to stderr and the status is 0, or 1 with ``--require``.

Usage: ``python -m tools.dependency_audit [--require]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable, Sequence

import httpx

__all__ = ["CANARY", "choose_service", "main"]

CANARY = ("jinja2", "2.10")
Fetch = Callable[[str, bytes | None], tuple[int, bytes]]
_TIMEOUT = 10.0


def _fetch(url: str, data: bytes | None) -> tuple[int, bytes]:
    """``(status, body)`` of a GET, or of a JSON POST of ``data``; network failures raise OSError."""
    try:
        if data is None:
            response = httpx.get(url, timeout=_TIMEOUT)
        else:
            response = httpx.post(
                url, content=data, headers={"Content-Type": "application/json"}, timeout=_TIMEOUT
            )
    except httpx.TransportError as exc:
        raise OSError(str(exc) or type(exc).__name__) from exc
    return response.status_code, response.content


def _pypi(fetch: Fetch) -> str | None:
    name, version = CANARY
    status, body = fetch(f"https://pypi.org/pypi/{name}/{version}/json", None)
    if status != 200:
        return f"pypi: the per-release JSON API answered {status}"
    if not json.loads(body).get("vulnerabilities"):
        return f"pypi: no advisories listed for {name} {version}"
    return None


def _osv(fetch: Fetch) -> str | None:
    name, version = CANARY
    query = {"package": {"name": name, "ecosystem": "PyPI"}, "version": version}
    status, body = fetch("https://api.osv.dev/v1/query", json.dumps(query).encode())
    if status != 200:
        return f"osv: the query API answered {status}"
    if not json.loads(body).get("vulns"):
        return f"osv: no advisories listed for {name} {version}"
    return None


_SERVICES: tuple[tuple[str, Callable[[Fetch], str | None]], ...] = (("pypi", _pypi), ("osv", _osv))


def choose_service(fetch: Fetch = _fetch) -> tuple[str | None, list[str]]:
    """The first service that knows the canary's advisories (or None), and why earlier ones did not."""
    reasons: list[str] = []
    for name, probe in _SERVICES:
        try:
            reason = probe(fetch)
        except (OSError, ValueError) as exc:
            reason = f"{name}: {type(exc).__name__}: {exc}"
        if reason is None:
            return name, reasons
        reasons.append(reason)
    return None, reasons


def main(
    argv: Sequence[str] | None = None,
    *,
    fetch: Fetch = _fetch,
    run: Callable[[list[str]], int] = subprocess.call,
) -> int:
    """Probe, then audit or say loudly that no audit ran; the exit status (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m tools.dependency_audit")
    parser.add_argument("--require", action="store_true", help="fail when no vulnerability service answers")
    args = parser.parse_args(argv)
    service, reasons = choose_service(fetch)
    if service is None:
        print(f"pip-audit NOT RUN: {'; '.join(reasons)}", file=sys.stderr)
        return 1 if args.require else 0
    command = [sys.executable, "-m", "pip_audit", "--strict", "--skip-editable", "--progress-spinner", "off"]
    return run([*command, "--vulnerability-service", service])


if __name__ == "__main__":
    sys.exit(main())
