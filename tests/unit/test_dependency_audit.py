"""The dependency audit of ``make lint``: it audits only when a vulnerability service demonstrably
knows advisories, and otherwise says loudly that no audit ran instead of reporting a clean one."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import pytest

from tools.dependency_audit import choose_service, main

PYPI_CANARY = "https://pypi.org/pypi/jinja2/2.10/json"
OSV = "https://api.osv.dev/v1/query"


def recording(commands: list[list[str]], status: int) -> Callable[[list[str]], int]:
    """A ``run`` that appends each command to ``commands`` and exits with ``status``."""

    def run(command: list[str]) -> int:
        commands.append(command)
        return status

    return run


class FakeNetwork:
    """Each URL answers ``(status, JSON body)`` or raises; unknown URLs fail to resolve."""

    def __init__(self, answers: dict[str, tuple[int, object]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, object]] = []

    def __call__(self, url: str, data: bytes | None) -> tuple[int, bytes]:
        self.asked.append((url, None if data is None else json.loads(data)))
        if url not in self.answers:
            raise OSError("Name or service not known")
        status, body = self.answers[url]
        return status, json.dumps(body).encode()


def test_pypi_that_names_the_canarys_advisories_runs_a_strict_audit() -> None:
    """PyPI listing advisories for Jinja2 2.10 selects it; pip-audit runs strict, editable skipped,
    against that service, and its failing status is lint's status."""
    fetch = FakeNetwork({PYPI_CANARY: (200, {"vulnerabilities": [{"id": "PYSEC-2019-217"}]})})
    commands: list[list[str]] = []
    status = main([], fetch=fetch, run=recording(commands, 1))
    assert status == 1
    assert commands == [
        [
            sys.executable,
            *("-m", "pip_audit", "--strict", "--skip-editable", "--progress-spinner", "off"),
            *("--vulnerability-service", "pypi"),
        ]
    ]


def test_osv_is_used_when_only_osv_knows_the_advisories() -> None:
    """A mirror answering 404 for release pages falls through to OSV, queried for the canary."""
    fetch = FakeNetwork({PYPI_CANARY: (404, {}), OSV: (200, {"vulns": [{"id": "GHSA-462w-v97r-4m45"}]})})
    assert choose_service(fetch) == ("osv", ["pypi: the per-release JSON API answered 404"])
    assert fetch.asked[-1] == (
        OSV,
        {"package": {"name": "jinja2", "ecosystem": "PyPI"}, "version": "2.10"},
    )


@pytest.mark.parametrize(
    "answers",
    [
        {},
        {PYPI_CANARY: (404, {})},
        {PYPI_CANARY: (200, {"vulnerabilities": []}), OSV: (200, {})},
        {PYPI_CANARY: (503, {}), OSV: (200, {"vulns": []})},
    ],
)
def test_no_service_that_knows_advisories_means_a_loud_not_run(
    answers: dict[str, tuple[int, object]], capsys: pytest.CaptureFixture[str]
) -> None:
    """Unreachable services, 404 release pages and services that know no advisory for the canary
    all end in one "pip-audit NOT RUN: <reasons>" line; pip-audit is not started; lint passes
    unless --require is given."""
    ran: list[list[str]] = []
    fetch = FakeNetwork(answers)
    assert main([], fetch=fetch, run=recording(ran, 0)) == 0
    assert main(["--require"], fetch=fetch, run=recording(ran, 0)) == 1
    assert ran == []
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2 and all(line.startswith("pip-audit NOT RUN: pypi: ") for line in lines)
    assert "osv: " in lines[0]
