"""Verification workflow latency: from the bank's request to ``completed``, per path a customer takes.

Everything runs on 127.0.0.1, each server in its own subprocess: the sandbox operators (``gateway
sandbox``, serving China Mobile's CMPP, China Unicom's SGIP and China Telecom's SMGP gateways with SP
accounts this benchmark generates, as :mod:`bench.sms` does) and the gateway (``gateway serve``)
with those gateways as its ``GATEWAY_<OP>_SMS_URL`` and the channel options left at their defaults,
so every code goes through the real dispatch pipeline into the phone's inbox. The dispatch poll
interval and the verification sweeper run at their production defaults
(``GATEWAY_PUSH_DISPATCH_POLL_SECONDS`` and ``GATEWAY_VERIFY_SWEEP_SECONDS``, read from
:class:`gateway.settings.Settings`); an accepted SMS also wakes the dispatch worker of its process.
One sandbox tenant (scope ``verify``, the built-in ``verification_code_zh-CN`` template installed,
:data:`bench._harness.BULK_SMS_POLICY` as its SMS limits) is the bank. Every request is to a line
of its own, round-robin over the three mainland operators.

Paths, each timed in this process from the first request to the answer that shows the end:

- ``cellular``: ``POST /verify/v1/requests`` ``[network, sms]``; the phone on cellular data opens the
  ``checkUrl`` (``POST /sandbox/devices/{phone}/authorize``: the sandbox browser walks to the
  operator's network authentication and back to the gateway's page); ``GET`` shows ``completed``.
- ``wifi``: the same request; the phone, on Wi-Fi, opens the ``checkUrl`` (the network step fails
  ``off_network`` and a code is sent); the bench polls the phone's inbox every ``--poll-interval``
  (20 ms) for the code and posts it to ``…/check``, which answers ``completed``.
- ``sms-only``: ``[sms]``; the inbox polled for the code; ``…/check`` answers ``completed``.
- ``code-flow``: the OAuth code flow off the mobile network with ``login_hint`` (the phone's
  browser on Wi-Fi, PKCE, the gateway's own code sent by SMS, which the sandbox browser reads from
  its inbox every 50 ms and types on ``/oauth2/code-entry/…``), until the token endpoint answers
  with an ID token whose ``amr`` is ``["sms_otp"]``.

Per path: ``--warmup`` (2) requests not counted, then ``--requests`` (30) one after another (p50,
p95, max; for ``wifi`` and ``sms-only`` also the time until the code was seen in the inbox), then
``--concurrent`` (48) requests by ``--concurrency`` (8) workers: completed requests per second from
the first start to the last end, p50 and p95, and the gateway's and the sandbox's CPU ms per
request (the sandbox's includes the phone's browser and the inbox polls). Any other answer, a code
that never arrives or a flow over ``--timeout`` (30 s) is an error and flags the run.

Results go to ``bench/results/verify.json`` (``verify-postgresql.json`` on PostgreSQL), server logs
to ``bench/results/logs/verify/``. Exit status: 0 clean, 1 errors, 2 set-up failed.

Run: ``python -m bench.verify --database-url postgresql://127.0.0.1:5432/postgres`` (a scratch
database is created beside it and dropped after; ``make bench``); without it a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import hashlib
import json
import re
import secrets
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp

from bench._harness import (
    RESULTS_DIR,
    CpuProbe,
    HarnessError,
    Server,
    allow_bulk_sms,
    call_json,
    env_pairs,
    format_facts,
    free_port,
    machine_facts,
    percentile,
    results_name,
    scratch_database,
    server_probe,
    write_results,
)
from bench.push import Line, seed_lines
from bench.servers import OPERATORS, Credentials, RunOptions, start_gateway, start_sandbox
from bench.sms import NUMBER_BLOCKS, own_options, sandbox_env, served_routes
from gateway.loop import LoopKind
from gateway.loop import run as run_on_loop
from gateway.sandbox_link import SANDBOX_PROTOCOLS, sms_url
from gateway.settings import Settings
from sandbox import SmscAccount

__all__ = [
    "CELLULAR",
    "CODE_FLOW",
    "FLOWS",
    "PATHS",
    "SMS_ONLY",
    "WIFI",
    "Bank",
    "Flow",
    "FlowError",
    "Options",
    "PathResult",
    "Phase",
    "Timing",
    "amr",
    "authorize_url",
    "code_in",
    "format_results",
    "interval_settings",
    "main",
    "parse",
    "plan_lines",
    "production_defaults",
    "provision",
    "run_phase",
    "summarise_phase",
]

CELLULAR = "cellular"
WIFI = "wifi"
SMS_ONLY = "sms-only"
CODE_FLOW = "code-flow"
PATHS = (CELLULAR, WIFI, SMS_ONLY, CODE_FLOW)
LOG_DIR = RESULTS_DIR / "logs" / "verify"
PURPOSE = "dpv:FraudPreventionAndDetection"
NV_SCOPE = "number-verification:verify"
SCOPES = ("verify", "templates:write", NV_SCOPE, PURPOSE)
CLIENT_SCOPE = "verify templates:write"
CODE_FLOW_SCOPE = f"openid {PURPOSE} {NV_SCOPE}"
REDIRECT_URI = "https://bank.example/callback"
TEMPLATE = "verification_code_zh-CN"
SIGNATURE = "平安银行"
NETWORK_THEN_SMS = ({"channel": "network"}, {"channel": "sms"})
SMS = ({"channel": "sms"},)
_CODE = re.compile(r"验证码是([0-9]{4,10})")
_SERIALS_PER_PATH = 1_000_000
_MAX_KINDS_SHOWN = 3
_GET_POLLS = 50  # a request still pending after the walk: GETs before it counts as an error


def production_defaults() -> dict[str, str]:
    """The gateway's poll and sweep intervals at the defaults :class:`Settings` gives them."""
    fields = Settings.model_fields
    return {
        "GATEWAY_PUSH_DISPATCH_POLL_SECONDS": f"{fields['push_dispatch_poll_seconds'].default:g}",
        "GATEWAY_VERIFY_SWEEP_SECONDS": f"{fields['verify_sweep_seconds'].default:g}",
    }


# --- lines -----------------------------------------------------------------------------------------


def plan_lines(paths: Sequence[str], operators: Sequence[str], count: int) -> dict[str, list[Line]]:
    """``count`` lines per path, round-robin over ``operators``, each line in one path only."""
    plan: dict[str, list[Line]] = {}
    for p, path in enumerate(paths):
        lines = []
        for i in range(count):
            operator = operators[i % len(operators)]
            serial = p * _SERIALS_PER_PATH + i
            lines.append(Line(number=f"{NUMBER_BLOCKS[operator]}{serial:08d}", operator=operator))
        plan[path] = lines
    return plan


def code_in(messages: Sequence[Mapping[str, Any]]) -> str | None:
    """The code of the first verification SMS among a phone's inbox messages, if any."""
    for message in messages:
        found = _CODE.search(str(message.get("text", "")))
        if found is not None:
            return found.group(1)
    return None


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(40)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(gateway_url: str, client_id: str, phone: str, challenge: str, state: str) -> str:
    """The code-flow authorization request the phone's browser opens: PKCE S256, ``login_hint``."""
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": CODE_FLOW_SCOPE,
        "state": state,
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "login_hint": f"tel:{phone}",
    }
    return f"{gateway_url}/oauth2/authorize?{urlencode(params)}"


def amr(id_token: object) -> object:
    """The ``amr`` claim of an ID token (its signature is not checked), or None if it has none."""
    try:
        payload = str(id_token).split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    return claims.get("amr") if isinstance(claims, dict) else None


# --- the flows -------------------------------------------------------------------------------------


class FlowError(Exception):
    """A flow went another way than its path; ``kind`` groups it in the report (no number, no code)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Timing:
    """One completed flow: seconds to the end, and to the code seen in the inbox (SMS paths)."""

    seconds: float
    code_seconds: float | None = None


@dataclass(frozen=True)
class Bank:
    """The bank's tenant and the servers it talks to."""

    session: aiohttp.ClientSession
    gateway_url: str
    sandbox_url: str
    client_id: str
    client_secret: str
    bearer: str
    poll_interval: float

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}"}


async def _answer(response: aiohttp.ClientResponse, step: str, expect: int) -> Any:
    body = await response.read()
    if response.status != expect:
        code = ""
        with contextlib.suppress(ValueError, AttributeError):
            document = json.loads(body)
            code = str(document.get("code") or document.get("error") or "")
        raise FlowError(f"{step} HTTP {response.status}{' ' + code if code else ''}")
    try:
        return json.loads(body)
    except ValueError:
        raise FlowError(f"{step}: answer not JSON") from None


async def _start(bank: Bank, phone: str, workflow: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    body = {"phoneNumber": phone, "workflow": list(workflow)}
    async with bank.session.post(
        f"{bank.gateway_url}/verify/v1/requests", json=body, headers=bank.headers
    ) as response:
        started: dict[str, Any] = await _answer(response, "create", 202)
    wanted = {"requestId", "checkUrl"} if workflow[0]["channel"] == "network" else {"requestId"}
    if not isinstance(started, dict) or not wanted <= started.keys():
        raise FlowError(f"create answer without {' or '.join(sorted(wanted))}")
    return started


async def _open_check(bank: Bank, phone: str, check_url: str) -> None:
    async with bank.session.post(
        f"{bank.sandbox_url}/sandbox/devices/{phone}/authorize", json={"url": check_url}
    ) as response:
        walked = await _answer(response, "check URL walk", 200)
    if walked.get("location") != check_url:
        raise FlowError("check URL walk ended elsewhere")


async def _view(bank: Bank, request_id: str) -> dict[str, Any]:
    async with bank.session.get(
        f"{bank.gateway_url}/verify/v1/requests/{request_id}", headers=bank.headers
    ) as response:
        view: dict[str, Any] = await _answer(response, "get", 200)
    return view


def _completed_by(view: Mapping[str, Any], channel: str) -> None:
    """Fail unless ``view`` (a request's JSON) is completed, by its ``channel`` step."""
    if view.get("status") != "completed":
        raise FlowError(f"request {view.get('status')}")
    done = [step.get("channel") for step in view.get("steps", ()) if step.get("status") == "completed"]
    if done != [channel]:
        raise FlowError(f"completed by {', '.join(map(str, done)) or 'no step'}, not {channel}")


async def _code(bank: Bank, phone: str) -> str:
    url = f"{bank.sandbox_url}/sandbox/devices/{phone}/messages"
    while True:
        async with bank.session.get(url) as response:
            inbox = await _answer(response, "inbox", 200)
        code = code_in(inbox)
        if code is not None:
            return code
        await asyncio.sleep(bank.poll_interval)


async def _check(bank: Bank, request_id: str, code: str) -> None:
    async with bank.session.post(
        f"{bank.gateway_url}/verify/v1/requests/{request_id}/check", json={"code": code}, headers=bank.headers
    ) as response:
        answer = await _answer(response, "check", 200)
    _completed_by(answer, "sms")


async def cellular(bank: Bank, line: Line) -> Timing:
    """[network, sms]; the phone on cellular opens the check URL; GET shows completed."""
    started = time.perf_counter()
    request = await _start(bank, line.number, NETWORK_THEN_SMS)
    await _open_check(bank, line.number, request["checkUrl"])
    view = await _view(bank, request["requestId"])
    for _ in range(_GET_POLLS):
        if view.get("status") != "pending":
            break
        await asyncio.sleep(bank.poll_interval)
        view = await _view(bank, request["requestId"])
    elapsed = time.perf_counter() - started
    _completed_by(view, "network")
    return Timing(elapsed)


async def wifi(bank: Bank, line: Line) -> Timing:
    """[network, sms]; the phone on Wi-Fi opens the check URL, gets a code, the bank checks it."""
    started = time.perf_counter()
    request = await _start(bank, line.number, NETWORK_THEN_SMS)
    await _open_check(bank, line.number, request["checkUrl"])
    code = await _code(bank, line.number)
    seen = time.perf_counter() - started
    await _check(bank, request["requestId"], code)
    return Timing(time.perf_counter() - started, seen)


async def sms_only(bank: Bank, line: Line) -> Timing:
    """[sms]; the code reaches the inbox; the bank checks it."""
    started = time.perf_counter()
    request = await _start(bank, line.number, SMS)
    code = await _code(bank, line.number)
    seen = time.perf_counter() - started
    await _check(bank, request["requestId"], code)
    return Timing(time.perf_counter() - started, seen)


async def code_flow(bank: Bank, line: Line) -> Timing:
    """The code flow on Wi-Fi with login_hint: the browser types the gateway's SMS code; then the token."""
    started = time.perf_counter()
    verifier, challenge = _pkce()
    state = secrets.token_urlsafe(8)
    url = authorize_url(bank.gateway_url, bank.client_id, line.number, challenge, state)
    async with bank.session.post(
        f"{bank.sandbox_url}/sandbox/devices/{line.number}/authorize", json={"url": url, "method": "sms_otp"}
    ) as response:
        walked = await _answer(response, "authorize walk", 200)
    location = str(walked.get("location", ""))
    if not location.startswith(REDIRECT_URI + "?"):
        raise FlowError("authorize walk ended elsewhere")
    answer = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    if answer.get("state") != state or "code" not in answer:
        raise FlowError(f"redirect without code ({answer.get('error', 'no error')})")
    form = {
        "grant_type": "authorization_code",
        "code": answer["code"],
        "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }
    async with bank.session.post(
        f"{bank.gateway_url}/oauth2/token",
        data=form,
        headers={"Authorization": aiohttp.encode_basic_auth(bank.client_id, bank.client_secret)},
    ) as response:
        tokens = await _answer(response, "token", 200)
    elapsed = time.perf_counter() - started
    if amr(tokens.get("id_token")) != ["sms_otp"]:
        raise FlowError("ID token amr is not sms_otp")
    return Timing(elapsed)


FLOWS: Mapping[str, Callable[[Bank, Line], Awaitable[Timing]]] = {
    CELLULAR: cellular,
    WIFI: wifi,
    SMS_ONLY: sms_only,
    CODE_FLOW: code_flow,
}


# --- phases ----------------------------------------------------------------------------------------


@dataclass
class Phase:
    """One path's requests at one concurrency: latencies in ms over the completed ones."""

    path: str
    concurrency: int
    requests: int
    errors: int
    elapsed_s: float
    rps: float | None
    p50_ms: float | None
    p95_ms: float | None
    max_ms: float | None
    code_p50_ms: float | None
    error_kinds: dict[str, int] = field(default_factory=dict)
    cpu_ms: dict[str, float] = field(default_factory=dict)
    """Process label -> CPU ms per completed request over the phase."""

    @property
    def flagged(self) -> bool:
        return self.errors > 0


@dataclass
class PathResult:
    """One path's phases: warm-up (not reported), sequential, and concurrent (None when not run)."""

    warmup: Phase
    sequential: Phase
    concurrent: Phase | None

    def phases(self) -> dict[str, Phase]:
        """The phases that ran, by name."""
        named = {"warm-up": self.warmup, "sequential": self.sequential, "concurrent": self.concurrent}
        return {name: phase for name, phase in named.items() if phase is not None}


def summarise_phase(
    path: str, concurrency: int, timings: Sequence[Timing], errors: Mapping[str, int], elapsed_s: float
) -> Phase:
    """Reduce a phase's completed flows and error kinds to a :class:`Phase`."""
    ordered = sorted(t.seconds * 1000.0 for t in timings)
    codes = sorted(t.code_seconds * 1000.0 for t in timings if t.code_seconds is not None)
    failed = sum(errors.values())
    return Phase(
        path=path,
        concurrency=concurrency,
        requests=len(timings) + failed,
        errors=failed,
        elapsed_s=elapsed_s,
        rps=len(timings) / elapsed_s if elapsed_s > 0 and timings else None,
        p50_ms=percentile(ordered, 50),
        p95_ms=percentile(ordered, 95),
        max_ms=ordered[-1] if ordered else None,
        code_p50_ms=percentile(codes, 50),
        error_kinds=dict(errors),
    )


Flow = Callable[[Line], Awaitable[Timing]]
"""One customer's verification on one line, to its end."""


async def run_phase(
    path: str,
    flow: Flow,
    lines: Sequence[Line],
    concurrency: int,
    *,
    patience: float,
    probes: Mapping[str, CpuProbe] | None = None,
) -> Phase:
    """``flow`` once on each of ``lines``, ``concurrency`` at a time; a flow that raises
    :class:`FlowError`, a transport error or takes over ``patience`` seconds is an error of its kind."""
    timings: list[Timing] = []
    errors: Counter[str] = Counter()
    pending = iter(lines)

    async def worker() -> None:
        for line in pending:  # shared iterator: each line goes to exactly one worker
            try:
                timings.append(await asyncio.wait_for(flow(line), patience))
            except FlowError as exc:
                errors[exc.kind] += 1
            except TimeoutError:
                errors[f"over {patience:g} s"] += 1
            except aiohttp.ClientError as exc:
                errors[type(exc).__name__] += 1

    probes = probes or {}
    before = {label: probe() for label, probe in probes.items()}
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(lines)))))
    elapsed = time.perf_counter() - started
    phase = summarise_phase(path, concurrency, timings, errors, elapsed)
    if timings:
        phase.cpu_ms = {
            label: (probe() - before[label]) * 1000.0 / len(timings) for label, probe in probes.items()
        }
    return phase


# --- set-up ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options(RunOptions):
    """The command line (see ``--help``)."""

    paths: list[str]
    requests: int
    concurrent: int
    concurrency: int
    warmup: int
    poll_interval: float
    timeout: float
    database_url: str | None
    workers: int
    redis_url: str
    gateway_env: list[str]
    startup_timeout: float
    loop: LoopKind


@dataclass(frozen=True)
class Sandbox:
    """A started sandbox and the SMS gateway URLs of the mainland operators."""

    server: Server
    urls: dict[str, str]
    """Operator -> its ``GATEWAY_<OP>_SMS_URL``."""


@contextlib.asynccontextmanager
async def open_sandbox(
    creds: Credentials, session: aiohttp.ClientSession, args: Options
) -> AsyncIterator[Sandbox]:
    """A sandbox whose SMS gateways (each on a free port) know accounts the bench chose; the URLs of
    the mainland operators' gateways.

    :raises HarnessError: the sandbox does not serve one of them.
    """
    accounts = {operator: SmscAccount.generate(operator) for operator in SANDBOX_PROTOCOLS}
    own = own_options(SANDBOX_PROTOCOLS, free_port)
    env = sandbox_env(SANDBOX_PROTOCOLS, accounts, own)
    async with start_sandbox(creds, args, LOG_DIR, env=env) as server:
        view = await call_json(session, "GET", server.base_url + "/sandbox/smsc")
        mainland = {operator: SANDBOX_PROTOCOLS[operator] for operator in OPERATORS}
        served, missing = served_routes(view, mainland, accounts)
        if missing:
            raise HarnessError(f"the sandbox does not serve {', '.join(missing)}")
        urls = {
            route.operator: sms_url(
                route.operator, accounts[route.operator], route.host, route.port, **own[route.operator]
            )
            for route in served
        }
        yield Sandbox(server, urls)


async def provision(
    session: aiohttp.ClientSession,
    gateway_url: str,
    sandbox_url: str,
    admin_token: str,
    *,
    poll_interval: float,
) -> Bank:
    """The bank: a sandbox tenant with raised SMS limits and the zh-CN code template installed."""
    tenant = await call_json(
        session,
        "POST",
        f"{gateway_url}/admin/tenants",
        json={
            "name": "bench-verify",
            "scopes": list(SCOPES),
            "redirect_uris": [REDIRECT_URI],
            "sandbox": True,
        },
        headers={"Authorization": f"Bearer {admin_token}"},
    )
    await allow_bulk_sms(session, gateway_url, admin_token, tenant["tenant_id"])
    token = await call_json(
        session,
        "POST",
        f"{gateway_url}/oauth2/token",
        data={"grant_type": "client_credentials", "scope": CLIENT_SCOPE},
        headers={"Authorization": aiohttp.encode_basic_auth(tenant["client_id"], tenant["client_secret"])},
    )
    bank = Bank(
        session=session,
        gateway_url=gateway_url,
        sandbox_url=sandbox_url,
        client_id=tenant["client_id"],
        client_secret=tenant["client_secret"],
        bearer=token["access_token"],
        poll_interval=poll_interval,
    )
    installed = await call_json(
        session,
        "POST",
        f"{gateway_url}/push/v1/templates/builtin/{TEMPLATE}",
        json={"signature": SIGNATURE},
        headers=bank.headers,
        expect=(201,),
    )
    if installed.get("status") != "approved":
        raise HarnessError(f"the sandbox tenant's {TEMPLATE} is {installed.get('status')!r}, not approved")
    return bank


async def seed(session: aiohttp.ClientSession, sandbox: Server, plan: Mapping[str, Sequence[Line]]) -> None:
    """Register every line with the sandbox; the Wi-Fi path's phones go on Wi-Fi."""
    await seed_lines(session, sandbox, [line for lines in plan.values() for line in lines])
    semaphore = asyncio.Semaphore(32)

    async def on_wifi(line: Line) -> None:
        async with semaphore:
            url = f"{sandbox.base_url}/sandbox/devices/{line.number}"
            await call_json(session, "PUT", url, json={"network": "wifi"})

    await asyncio.gather(*(on_wifi(line) for line in plan.get(WIFI, ())))


async def run(args: Options, database_url: str) -> dict[str, PathResult]:
    """Start sandbox and gateway, then each path: warm-up, sequential, concurrent."""
    creds = Credentials.generate()
    per_path = args.warmup + args.requests + args.concurrent
    async with (
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(64, 4 * args.concurrency)),
            timeout=aiohttp.ClientTimeout(total=args.timeout),
        ) as session,
        open_sandbox(creds, session, args) as sandbox,
    ):
        env = {
            **{f"GATEWAY_{operator.upper()}_SMS_URL": url for operator, url in sandbox.urls.items()},
            **production_defaults(),
        }
        async with start_gateway(creds, sandbox.server, database_url, args, LOG_DIR, env=env) as gateway:
            bank = await provision(
                session,
                gateway.base_url,
                sandbox.server.base_url,
                creds.admin_token,
                poll_interval=args.poll_interval,
            )
            plan = plan_lines(args.paths, list(sandbox.urls), per_path)
            await seed(session, sandbox.server, plan)
            probes = {"gateway": server_probe(gateway), "sandbox": server_probe(sandbox.server)}
            results: dict[str, PathResult] = {}
            for path in args.paths:
                lines = plan[path]
                warm, sequential = args.warmup, args.warmup + args.requests
                print(
                    f"{path}: {args.warmup} warm-up, {args.requests} sequential, {args.concurrent} "
                    f"at concurrency {args.concurrency} ..."
                )
                flow = functools.partial(FLOWS[path], bank)
                results[path] = PathResult(
                    warmup=await run_phase(path, flow, lines[:warm], 1, patience=args.timeout),
                    sequential=await run_phase(path, flow, lines[warm:sequential], 1, patience=args.timeout),
                    concurrent=(
                        await run_phase(
                            path,
                            flow,
                            lines[sequential:],
                            args.concurrency,
                            patience=args.timeout,
                            probes=probes,
                        )
                        if args.concurrent
                        else None
                    ),
                )
            return results


# --- report ----------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def format_results(results: Sequence[PathResult]) -> str:
    """One row per path: the sequential figures, then the concurrent ones (if measured)."""
    width = max([len("path"), *(len(r.sequential.path) for r in results)]) + 2
    lines = [
        f"{'path':<{width}}{'n':>4}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'code p50':>9}{'errors':>7}"
        f" |{'conc.':>6}{'n':>5}{'req/s':>7}{'p50 ms':>8}{'p95 ms':>8}{'errors':>7}  CPU ms per request"
    ]
    for result in results:
        seq, con = result.sequential, result.concurrent
        row = (
            f"{seq.path:<{width}}{seq.requests:>4}{_ms(seq.p50_ms):>8}{_ms(seq.p95_ms):>8}"
            f"{_ms(seq.max_ms):>8}{_ms(seq.code_p50_ms):>9}{seq.errors:>7} |"
        )
        if con is None:
            row += f"{'-':>6}"
        else:
            rps = "-" if con.rps is None else f"{con.rps:.1f}"
            cpu = ", ".join(f"{label} {ms:.1f}" for label, ms in con.cpu_ms.items()) or "-"
            row += (
                f"{con.concurrency:>6}{con.requests:>5}{rps:>7}{_ms(con.p50_ms):>8}{_ms(con.p95_ms):>8}"
                f"{con.errors:>7}  {cpu}"
            )
        lines.append(row)
    return "\n".join(lines)


def _paths(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = sorted(set(chosen) - set(PATHS))
    if not chosen or unknown or len(set(chosen)) != len(chosen):
        raise argparse.ArgumentTypeError(f"expected distinct paths among {', '.join(PATHS)}, got {text!r}")
    return chosen


def parse(argv: Sequence[str] | None) -> Options:
    """The command line as :class:`Options` (``argparse`` exits on a usage error)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.verify", description="Verification workflow: request to completed, per path"
    )
    parser.add_argument(
        "--paths", type=_paths, default=list(PATHS), metavar="P,P,...", help=f"of {', '.join(PATHS)}"
    )
    parser.add_argument("--requests", type=int, default=30, help="sequential requests per path (timed)")
    parser.add_argument(
        "--concurrent", type=int, default=48, help="requests per path at --concurrency (0: none)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="requests in flight in the concurrent phase"
    )
    parser.add_argument("--warmup", type=int, default=2, help="requests per path before timing (not counted)")
    parser.add_argument(
        "--poll-interval", type=float, default=0.02, help="seconds between inbox or GET polls"
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds a flow may take before it counts as failed"
    )
    parser.add_argument(
        "--database-url",
        help="gateway database server (default: a fresh SQLite file), e.g. postgresql://127.0.0.1:5432/db",
    )
    parser.add_argument("--workers", type=int, default=1, help="gateway processes (`serve --workers`)")
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/14", help="shared stores, used when --workers > 1"
    )
    parser.add_argument(
        "--gateway-env", action="append", default=[], metavar="KEY=VALUE", help="extra gateway setting"
    )
    parser.add_argument("--startup-timeout", type=float, default=60.0, help="seconds to wait for each server")
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default="uvloop", help="every process's loop"
    )
    args = Options(**vars(parser.parse_args(argv)))
    if min(args.requests, args.concurrency, args.workers) < 1 or min(args.concurrent, args.warmup) < 0:
        parser.error("--requests, --concurrency and --workers must be at least 1, the other counts >= 0")
    if args.poll_interval <= 0 or args.timeout <= 0:
        parser.error("--poll-interval and --timeout must be positive")
    return args


def interval_settings(gateway_env: Sequence[str]) -> tuple[dict[str, str], bool]:
    """The poll and sweep intervals the gateway gets, and whether they are the production defaults
    (``--gateway-env`` may set others)."""
    defaults = production_defaults()
    given = env_pairs(gateway_env)
    effective = {key: given.get(key, value) for key, value in defaults.items()}
    return effective, effective == defaults


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    try:
        intervals, production = interval_settings(args.gateway_env)
    except HarnessError as exc:
        print(f"benchmark set-up failed: {exc}", file=sys.stderr)
        return 2
    facts = machine_facts()
    print(format_facts(facts))
    database = "sqlite" if args.database_url is None else args.database_url.split(":", 1)[0]
    print(
        f"paths {', '.join(args.paths)}; gateway database {database}, {args.workers} process(es), event "
        f"loop {args.loop}; SMS over the sandbox's CMPP, SGIP and SMGP gateways; "
        + ", ".join(f"{key}={value}" for key, value in intervals.items())
        + (" (production defaults)" if production else " (NOT the production defaults)")
        + f"; the bench polls inboxes and GETs every {args.poll_interval * 1000:g} ms\n"
    )
    try:
        with scratch_database(args.database_url) as database_url:
            results = run_on_loop(run(args, database_url), args.loop)
    except (HarnessError, aiohttp.ClientError) as exc:
        print(f"benchmark set-up failed: {exc}", file=sys.stderr)
        return 2
    print()
    print(format_results(list(results.values())))
    flagged = False
    for path, result in results.items():
        for name, phase in result.phases().items():
            if phase.flagged:
                flagged = True
                kinds = sorted(phase.error_kinds.items(), key=lambda item: -item[1])[:_MAX_KINDS_SHOWN]
                print(f"FLAGGED {path} {name}: " + ", ".join(f"{k}: {v}" for k, v in kinds))
    payload = {
        "benchmark": "verify",
        "machine": facts,
        "event_loop": args.loop,
        "config": {**args.public(), "database": database, "intervals": intervals, "production": production},
        "results": {
            path: {name: asdict(phase) for name, phase in result.phases().items()}
            for path, result in results.items()
        },
        "ok": not flagged,
    }
    print(f"\nwritten to {write_results(results_name('verify', database), payload)}")
    return 0 if not flagged else 1


if __name__ == "__main__":
    sys.exit(main())
