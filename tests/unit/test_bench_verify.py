"""bench/verify.py: the command line, the lines, reading the code and the ID token, the authorization
request, a phase's accounting and table, and each path's flow driven against a real stack."""

from __future__ import annotations

import asyncio
import base64
import functools
import json
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from bench.push import Line
from bench.verify import (
    CELLULAR,
    CODE_FLOW,
    FLOWS,
    PATHS,
    REDIRECT_URI,
    SMS_ONLY,
    WIFI,
    FlowError,
    PathResult,
    Timing,
    amr,
    authorize_url,
    code_in,
    format_results,
    interval_settings,
    parse,
    plan_lines,
    provision,
    run_phase,
    summarise_phase,
)
from carrier_adapters import operator_for_number
from gateway.settings import Settings
from gateway.templates.builtin import builtin_spec
from gateway.templates.rendering import render
from tests.leaks import SENSITIVE
from tests.stack import open_stack


def test_defaults_measure_every_path_in_a_short_run() -> None:
    """Without options: every path, 2 warm-up, 30 sequential and 48 concurrent requests at 8, a fresh
    SQLite file, one gateway process on uvloop."""
    args = parse([])
    assert args.paths == list(PATHS)
    assert (args.warmup, args.requests, args.concurrent, args.concurrency) == (2, 30, 48, 8)
    assert args.database_url is None and args.workers == 1 and args.loop == "uvloop"
    assert "database_url" not in args.public()


def test_paths_are_chosen_by_name_and_checked() -> None:
    """``--paths`` keeps the order given; an unknown, repeated or empty list is a usage error, and so
    are counts below their minimum."""
    assert parse(["--paths", "code-flow,wifi"]).paths == [CODE_FLOW, WIFI]
    for bad in (["--paths", "cellular,satellite"], ["--paths", "wifi,wifi"], ["--paths", ","]):
        with pytest.raises(SystemExit):
            parse(bad)
    for bad in (
        ["--requests", "0"],
        ["--concurrency", "0"],
        ["--concurrent", "-1"],
        ["--poll-interval", "0"],
    ):
        with pytest.raises(SystemExit):
            parse(bad)
    assert parse(["--concurrent", "0", "--warmup", "0"]).concurrent == 0


def test_the_gateway_polls_at_its_production_defaults_unless_told_otherwise() -> None:
    """The dispatch poll and sweep intervals given to the gateway are Settings' defaults, which the
    gateway reads back as such; ``--gateway-env`` setting one is reported as not the default."""
    intervals, production = interval_settings([])
    assert production
    defaults = Settings()
    assert float(intervals["GATEWAY_PUSH_DISPATCH_POLL_SECONDS"]) == defaults.push_dispatch_poll_seconds
    assert float(intervals["GATEWAY_VERIFY_SWEEP_SECONDS"]) == defaults.verify_sweep_seconds
    changed, production = interval_settings(["GATEWAY_PUSH_DISPATCH_POLL_SECONDS=0.05", "GATEWAY_X=1"])
    assert changed["GATEWAY_PUSH_DISPATCH_POLL_SECONDS"] == "0.05" and not production
    assert "GATEWAY_X" not in changed


def test_every_request_gets_a_line_of_its_own_in_its_operators_block() -> None:
    """Lines are distinct across paths, round-robin over the operators, each number its operator's."""
    plan = plan_lines(PATHS, ["cmcc", "cucc", "ctcc"], 80)
    numbers = [line.number for lines in plan.values() for line in lines]
    assert list(plan) == list(PATHS) and len(numbers) == len(set(numbers)) == 4 * 80
    for lines in plan.values():
        assert [line.operator for line in lines[:4]] == ["cmcc", "cucc", "ctcc", "cmcc"]
        assert all(operator_for_number(line.number) == line.operator for line in lines)


def test_the_code_is_read_from_the_built_in_template_text() -> None:
    """The SMS the zh-CN built-in renders gives up its code; messages without one are passed over."""
    text = render(
        builtin_spec("verification_code_zh-CN", signature="平安银行"), {"code": "40719", "minutes": 5}, None
    )
    inbox = [
        {"from": "1069", "text": "【平安银行】您的案件已受理 13800138000"},
        {"from": "1069", "text": text.text},
    ]
    assert code_in(inbox) == "40719"
    assert code_in(inbox[:1]) is None and code_in([]) is None


def test_the_authorization_request_is_the_code_flow_with_pkce_and_a_login_hint() -> None:
    """The browser's URL asks for a code with PKCE S256, one dpv: purpose, the bench's redirect URI
    and ``login_hint=tel:<number>``."""
    url = authorize_url("http://127.0.0.1:9", "client-1", "+8613800000001", "challenge-1", "state-1")
    parts = urlsplit(url)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert (parts.netloc, parts.path) == ("127.0.0.1:9", "/oauth2/authorize")
    assert query["response_type"] == "code" and query["client_id"] == "client-1"
    assert query["redirect_uri"] == REDIRECT_URI and query["state"] == "state-1"
    assert (query["code_challenge"], query["code_challenge_method"]) == ("challenge-1", "S256")
    assert query["login_hint"] == "tel:+8613800000001"
    assert [s for s in query["scope"].split() if s.startswith("dpv:")] == ["dpv:FraudPreventionAndDetection"]


def _jwt(claims: dict[str, object]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"e30.{payload}.sig"


def test_amr_is_read_from_the_id_token_and_anything_unreadable_has_none() -> None:
    """The ID token's amr claim comes back as given; a token without one, or not a JWT, gives None."""
    assert amr(_jwt({"amr": ["sms_otp"], "sub": "x"})) == ["sms_otp"]
    assert amr(_jwt({"sub": "x"})) is None
    assert amr("not-a-jwt") is None and amr(None) is None and amr("a.!!!.c") is None


def test_a_phase_reports_percentiles_of_the_completed_flows_and_counts_the_failed() -> None:
    """p50, p95 and max are over completed flows (ms); the code time only over flows that had one;
    failed flows count as requests and errors, and not in the rate."""
    timings = [Timing(s / 10, s / 20) for s in range(1, 11)] + [Timing(2.0)]
    phase = summarise_phase(SMS_ONLY, 4, timings, {"check HTTP 400 INVALID_CODE": 2}, elapsed_s=5.5)
    assert (phase.requests, phase.errors, phase.rps) == (13, 2, 2.0)
    assert phase.p50_ms == pytest.approx(600.0) and phase.max_ms == pytest.approx(2000.0)
    assert phase.p95_ms == pytest.approx(1500.0)
    assert phase.code_p50_ms == pytest.approx(275.0)
    assert phase.flagged
    empty = summarise_phase(CELLULAR, 1, [], {}, elapsed_s=0.0)
    assert (empty.requests, empty.rps, empty.p50_ms, empty.code_p50_ms, empty.flagged) == (
        0,
        None,
        None,
        None,
        False,
    )


async def test_a_phase_runs_each_line_once_and_groups_failures_by_kind() -> None:
    """Every line goes through the flow exactly once with at most ``concurrency`` in flight; a
    FlowError counts under its kind, a flow over the patience under the timeout, a transport error
    under its class."""
    lines = [Line(f"+86138{i:08d}", "cmcc") for i in range(9)]
    seen: list[str] = []
    in_flight = peak = 0

    async def flow(line: Line) -> Timing:
        nonlocal in_flight, peak
        seen.append(line.number)
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.sleep(0)
            serial = int(line.number[-1])
            if serial == 3:
                raise FlowError("create HTTP 409 VERIFICATION_IN_PROGRESS")
            if serial == 5:
                await asyncio.sleep(10)
            if serial == 7:
                raise aiohttp.ServerDisconnectedError()
            return Timing(0.01)
        finally:
            in_flight -= 1

    phase = await run_phase(WIFI, flow, lines, 3, patience=0.2)

    assert sorted(seen) == [line.number for line in lines] and peak <= 3
    assert phase.requests == 9 and phase.errors == 3
    assert phase.error_kinds == {
        "create HTTP 409 VERIFICATION_IN_PROGRESS": 1,
        "over 0.2 s": 1,
        "ServerDisconnectedError": 1,
    }


def test_the_table_has_a_row_per_path_with_or_without_a_concurrent_phase() -> None:
    """Each path's row shows its sequential figures; the concurrent columns when that phase ran."""
    sequential = summarise_phase(WIFI, 1, [Timing(0.1, 0.05)], {}, 1.0)
    concurrent = summarise_phase(WIFI, 8, [Timing(0.4, 0.3)] * 8, {}, 0.5)
    concurrent.cpu_ms = {"gateway": 12.5}
    only = summarise_phase(CODE_FLOW, 1, [Timing(0.2)], {}, 1.0)
    table = format_results([PathResult(sequential, sequential, concurrent), PathResult(only, only, None)])
    header, wifi, code_flow = table.splitlines()
    assert "p95 ms" in header and "req/s" in header
    assert wifi.split()[:7] == ["wifi", "1", "100", "100", "100", "50", "0"]
    assert "16.0" in wifi and "gateway 12.5" in wifi
    assert code_flow.split()[-1] == "-" and code_flow.split()[5] == "-"


@pytest.mark.integration
async def test_every_path_completes_against_a_real_gateway_and_sandbox(database_url: str) -> None:
    """Driven as the benchmark drives them, against a real gateway and sandbox (codes over the
    sandbox's SMS protocol gateways): each path completes on a line of its own without error; the
    SMS paths record when the code reached the phone, the others do not."""
    async with (
        open_stack(database_url, public=True) as stack,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session,
    ):
        bank = await provision(
            session, stack.gateway_url, stack.sandbox_url, stack.admin_token, poll_interval=0.02
        )
        SENSITIVE.update({bank.bearer, bank.client_secret})
        operators = dict(zip(PATHS, ["cmcc", "cucc", "ctcc", "cucc"], strict=True))
        lines = {
            path: Line(await stack.subscriber(operator), operator) for path, operator in operators.items()
        }
        wifi = await stack.http.put(
            f"{stack.sandbox_url}/sandbox/devices/{lines[WIFI].number}", json={"network": "wifi"}
        )
        assert wifi.status_code == 200, wifi.text

        for path, line in lines.items():
            phase = await run_phase(path, functools.partial(FLOWS[path], bank), [line], 1, patience=30)

            assert (phase.requests, phase.errors) == (1, 0), (path, phase.error_kinds)
            assert (phase.code_p50_ms is not None) == (path in (WIFI, SMS_ONLY)), path
