"""Push messages: acceptance of ``POST /push/v1/messages`` and dispatch through the sandbox operators.

Two figures from one run on one machine, everything on 127.0.0.1 in its own subprocess:

1. **Acceptance**: durable ``202``s per second of ``POST /push/v1/messages`` at ``--concurrency``
   (32) closed-loop clients for ``--duration`` (10) s after a warm-up, each request to the next of
   ``--subscribers`` (1,000) seeded cmcc/cucc/ctcc sandbox lines, with a transaction template and
   no ``Idempotency-Key``. The gateway runs with ``GATEWAY_PUSH_DISPATCH_WORKER=false``, so nothing
   is sent while acceptance is measured. Beside it, from the same run, the baseline pass-through's
   ``POST /sim-swap/v2/check`` (one signed cmcc round trip, no auth, no database). Acceptance does a
   durable multi-row transaction instead (message, link, ``queued`` event, encryption, blind index),
   so the ratio is context, not parity. Every answer must be ``202`` with ``"status": "queued"``
   (gateway) or ``200 {"swapped": false}`` (baseline); anything else is an error and flags the run.
   Concurrent requests share transactions (group commit, ``gateway.push.committer``): the mean
   messages per transaction over every round is read from the gateway's ``/metrics``.
2. **Dispatch**: ``--messages`` (2,000) messages are accepted by a gateway without dispatch worker
   (on a second scratch database), which is then replaced on the same port by one with the worker
   on; the benchmark counts the messages' states in that database (SELECTs only; the gateway owns
   the writes) until each is ``delivered`` or ``--dispatch-timeout`` passes. The sandbox runs with
   a callback URL (``gateway sandbox`` with ``GATEWAY_SANDBOX_CALLBACK_URL``),
   so each submission is followed by a signed delivery report ``report_delay`` (0.5 s) later. Reported:
   submissions per second between the first and the last ``submitted`` event (the gateway's own
   timestamps), the same to the last ``delivered`` event, and the wall time from the dispatching
   gateway's readiness to the last state change seen. ``GATEWAY_PUSH_SEND_RATE`` (per operator and
   process; default 50/s) is set to ``--send-rate`` (10,000/s, its maximum) so the token bucket
   does not cap the figure; batch and concurrency keep their defaults unless ``--gateway-env`` sets
   them. A message left ``queued``/``submitted``, or ``failed``/``expired``, is an error; a sample
   of messages is also read back through ``GET /push/v1/messages/{id}``, which must say ``delivered``.

Each of ``--rounds`` (3) rounds measures baseline and acceptance (alternating which goes first) and
one dispatch batch; the round with the median rate is reported. Beside the rates, CPU milliseconds
per request (acceptance, baseline) and per message (dispatch, from the dispatching gateway's
readiness to the end of the poll) of the gateway's process tree and of the sandbox. Every process
runs on the event loop ``--loop`` names (uvloop by default). Written to ``bench/results/push.json``
(``push-postgresql.json`` on PostgreSQL); server logs go to ``bench/results/logs/push/``. Exit
status: 0 when every round is clean, 1 otherwise, 2 set-up failed.

Run: ``python -m bench.push`` (``make bench``); ``--database-url postgresql://127.0.0.1:5432/<db>``
measures on scratch PostgreSQL databases; ``--workers N`` runs ``serve --workers N``, every process
with its own dispatch worker, the shared stores in Redis (``--redis-url``); ``--workers-list 1,2,4``
runs everything once per process count (fresh servers and databases each time) and ends with the
counts side by side: acceptance req/s, p50, p99, dispatch msg/s and CPU per message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import itertools
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bench._harness import (
    LOCALHOST,
    RESULTS_DIR,
    HarnessError,
    LoadResult,
    Server,
    bulk_sms_bearer,
    call_json,
    format_facts,
    format_table,
    free_port,
    machine_facts,
    results_name,
    scratch_database,
    server_probe,
    write_results,
)
from bench.load import Request, run_load
from bench.one_tap import median_result, ratio
from bench.servers import (
    Credentials,
    RunOptions,
    add_run_arguments,
    add_scaling_argument,
    start_baseline,
    start_gateway,
    start_sandbox,
)
from gateway.db import async_url
from gateway.loop import LoopKind
from gateway.loop import run as run_on_loop
from gateway.push.models import MessageEvent, PushMessage

__all__ = [
    "DispatchResult",
    "Line",
    "ScalingRow",
    "batch_mean",
    "cpu_per_message",
    "dispatch_rate",
    "format_scaling",
    "main",
    "plan_lines",
    "state_errors",
]

BASELINE = "baseline"
ACCEPTANCE = "push-acceptance"
BASELINE_OPERATOR = "cmcc"
SIM_SWAP_PATH = "/sim-swap/v2/check"
MESSAGES_PATH = "/push/v1/messages"
TEMPLATES_PATH = "/push/v1/templates"
SCOPES = ("push:send", "push:read", "templates:write")
PREFIXES = {"cmcc": "138", "cucc": "186", "ctcc": "189"}
MAX_AGE_H = 240
ACTIVATED_AGO = dt.timedelta(days=30)
ENQUEUE_CONCURRENCY = 32
POLL_INTERVAL_S = 0.1
READBACK_SAMPLE = 20
FINAL_OK = "delivered"
LOG_DIR = RESULTS_DIR / "logs" / "push"
BATCH_METRIC = "gateway_push_accept_batch_size"
SANDBOX_FREE_PORTS = {
    f"GATEWAY_SANDBOX_{protocol}_PORT": "0" for protocol in ("CMPP", "SGIP", "SMPP", "SMGP")
}
"""The sandbox's SMS-protocol listeners (unused here: push dispatch goes over HTTP) on free ports,
so another benchmark's sandbox on the default ports does not stop this one."""
TEMPLATE = {
    "category": "transaction",
    "signature": "平安银行",
    "text": "您的案件{{claimNo}}请点击 {{link}} 共享位置。",
    "flow": "claim_location",
    "quickApp": {"package": "com.example.claims", "page": "Location"},
    "params": {"claimNo": {"type": "string", "required": True}},
}


# --- configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options(RunOptions):
    """The command line (see ``--help``)."""

    concurrency: int
    duration: float
    warmup: float
    rounds: int
    messages: int
    subscribers: int
    send_rate: float
    dispatch_timeout: float
    database_url: str | None
    workers: int
    redis_url: str
    gateway_env: list[str]
    startup_timeout: float
    loop: LoopKind
    workers_list: list[int] | None = None


# --- lines -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One seeded sandbox subscriber, in its operator's number block."""

    number: str
    operator: str


def plan_lines(count: int) -> list[Line]:
    """``count`` lines, round-robin over cmcc (138), cucc (186) and ctcc (189), all distinct."""
    operators = list(PREFIXES)
    lines = []
    for i in range(count):
        operator = operators[i % len(operators)]
        lines.append(Line(number=f"+86{PREFIXES[operator]}{i:08d}", operator=operator))
    return lines


# --- dispatch figures (pure) -----------------------------------------------------------------------


@dataclass
class DispatchResult:
    """One dispatch batch: how fast ``messages`` queued messages were submitted and delivered.

    ``submit_rps`` is ``messages`` over the span from the first to the last ``submitted`` event
    (gateway timestamps); ``deliver_rps`` the same to the last ``delivered`` event; ``wall_s`` the
    time from the dispatching gateway's readiness until the last state change the poll saw.
    """

    messages: int
    submit_s: float | None
    deliver_s: float | None
    submit_rps: float | None
    deliver_rps: float | None
    wall_s: float
    enqueue_rps: float
    states: dict[str, int]
    errors: int
    error_kinds: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    cpu_ms: dict[str, float] = field(default_factory=dict)
    """Process label -> CPU ms per message, from readiness to the end of the poll (see
    :func:`cpu_per_message`)."""

    @property
    def flagged(self) -> bool:
        """A batch with errors does not measure what it claims to."""
        return self.errors > 0


def dispatch_rate(
    messages: int, first: dt.datetime | None, last: dt.datetime | None
) -> tuple[float | None, float | None]:
    """(span in s, messages per second) between two event timestamps; None when unknown or empty."""
    if first is None or last is None or messages <= 0:
        return None, None
    span = (last - first).total_seconds()
    return span, (messages / span if span > 0 else None)


def cpu_per_message(
    before: Mapping[str, float], after: Mapping[str, float], messages: int
) -> dict[str, float]:
    """CPU ms per message of each process between two readings of cumulative CPU seconds.

    Empty when there are no messages; a label missing from either reading is left out.
    """
    if messages <= 0:
        return {}
    return {label: (after[label] - before[label]) * 1000.0 / messages for label in before if label in after}


def state_errors(states: Mapping[str, int], expected: int) -> dict[str, int]:
    """Messages not ``delivered`` by state, plus ``missing`` when fewer than ``expected`` exist."""
    errors = {f"left {state}": n for state, n in states.items() if state != FINAL_OK and n}
    missing = expected - sum(states.values())
    if missing > 0:
        errors["missing"] = missing
    return errors


def batch_mean(exposition: str) -> float | None:
    """Messages per acceptance transaction on average, from a gateway's ``/metrics`` text (the
    ``gateway_push_accept_batch_size`` histogram's sum over its count); None without units."""
    values: dict[str, float] = {}
    for line in exposition.splitlines():
        name, _, value = line.partition(" ")
        if name in (f"{BATCH_METRIC}_sum", f"{BATCH_METRIC}_count"):
            values[name] = float(value)
    count = values.get(f"{BATCH_METRIC}_count", 0.0)
    return values[f"{BATCH_METRIC}_sum"] / count if count else None


async def read_batch_mean(session: aiohttp.ClientSession, gateway: Server, admin_token: str) -> float | None:
    """:func:`batch_mean` of the gateway (one process's figure under ``--workers``)."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    async with session.get(f"{gateway.base_url}/metrics", headers=headers) as response:
        if response.status != 200:
            return None
        return batch_mean(await response.text())


# --- set-up through the public APIs ----------------------------------------------------------------


@dataclass(frozen=True)
class Sender:
    """A sandbox tenant's push bearer and its approved transaction template."""

    bearer: str
    template_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.bearer}"}

    def message(self, line: Line, serial: int) -> Request:
        """An acceptance request to ``line``: 202 ``queued`` expected."""
        body = {"templateId": self.template_id, "to": line.number, "params": {"claimNo": f"C-{serial}"}}
        return Request(json=body, expect_status=202, expect_json={"status": "queued"})


async def provision_sender(
    session: aiohttp.ClientSession,
    gateway: Server,
    admin_token: str,
    name: str,
    template: Mapping[str, Any] = TEMPLATE,
) -> Sender:
    """A sandbox tenant with the push scopes, the bulk SMS policy and ``template`` (approved at once)."""
    bearer = await bulk_sms_bearer(session, gateway.base_url, admin_token, name, SCOPES)
    template = await call_json(
        session,
        "POST",
        gateway.base_url + TEMPLATES_PATH,
        json={"name": name, **template},
        headers={"Authorization": f"Bearer {bearer}"},
        expect=(201,),
    )
    if template.get("status") != "approved":
        raise HarnessError(f"the sandbox tenant's template is {template.get('status')!r}, not approved")
    return Sender(bearer, template["id"])


async def seed_lines(session: aiohttp.ClientSession, sandbox: Server, lines: Sequence[Line]) -> None:
    """Register the lines with the sandbox (activated 30 days ago, no SIM change)."""
    activated = (dt.datetime.now(dt.UTC) - ACTIVATED_AGO).isoformat(timespec="seconds").replace("+00:00", "Z")
    url = f"{sandbox.base_url}/sandbox/subscribers"
    semaphore = asyncio.Semaphore(64)

    async def seed(line: Line) -> None:
        async with semaphore:
            body = {"phoneNumber": line.number, "operator": line.operator, "activatedAt": activated}
            await call_json(session, "POST", url, json=body)

    await asyncio.gather(*(seed(line) for line in lines))


# --- acceptance ------------------------------------------------------------------------------------


async def measure_acceptance(
    gateway: Server, baseline: Server, sandbox: Server, sender: Sender, lines: Sequence[Line], args: Options
) -> dict[str, list[LoadResult]]:
    """Baseline and acceptance once per round, alternating which goes first."""
    serial = itertools.count()
    cycle = itertools.cycle(lines)
    cmcc = [line for line in lines if line.operator == BASELINE_OPERATOR]
    checks = itertools.cycle(
        Request(json={"phoneNumber": line.number, "maxAge": MAX_AGE_H}, expect_json={"swapped": False})
        for line in cmcc
    )

    async def run_baseline() -> LoadResult:
        return await run_load(
            baseline.base_url + SIM_SWAP_PATH,
            lambda: next(checks),
            args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
            target=BASELINE,
            cpu={"baseline": server_probe(baseline), "sandbox": server_probe(sandbox)},
        )

    async def run_acceptance() -> LoadResult:
        return await run_load(
            gateway.base_url + MESSAGES_PATH,
            lambda: sender.message(next(cycle), next(serial)),
            args.concurrency,
            duration=args.duration,
            warmup=args.warmup,
            target=ACCEPTANCE,
            headers=sender.headers,
            cpu={"gateway": server_probe(gateway)},
        )

    targets = [(BASELINE, run_baseline), (ACCEPTANCE, run_acceptance)]
    rounds: dict[str, list[LoadResult]] = {BASELINE: [], ACCEPTANCE: []}
    for i in range(args.rounds):
        for name, run in targets if i % 2 == 0 else list(reversed(targets)):
            label = name if args.rounds == 1 else f"{name} (round {i + 1}/{args.rounds})"
            print(f"{label}: {args.warmup:g} s warm-up, measuring {args.duration:g} s ...")
            rounds[name].append(await run())
    return rounds


# --- dispatch --------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def read_only(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine for SELECTs on the gateway's database (SQLite opened read-only)."""
    target = async_url(database_url)
    connect_args: dict[str, Any] = {}
    if target.startswith("sqlite"):
        target = target.replace("sqlite+aiosqlite:///", "sqlite+aiosqlite:///file:", 1) + "?mode=ro&uri=true"
        connect_args = {"timeout": 5.0}
    engine = create_async_engine(target, poolclass=NullPool, connect_args=connect_args)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _states(engine: AsyncEngine, template_id: str) -> dict[str, int]:
    table = PushMessage.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(table.c.status, sa.func.count())
        .where(table.c.template_id == template_id)
        .group_by(table.c.status)
    )
    async with engine.connect() as conn:
        return {status: count for status, count in (await conn.execute(query)).all()}


async def _event_spans(engine: AsyncEngine, template_id: str) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    messages = PushMessage.__table__  # type: ignore[attr-defined]
    events = MessageEvent.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(events.c.type, sa.func.min(events.c.at), sa.func.max(events.c.at))
        .join(messages, messages.c.id == events.c.message_id)
        .where(messages.c.template_id == template_id, events.c.type.in_(("submitted", "delivered")))
        .group_by(events.c.type)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return {kind: (_aware(first), _aware(last)) for kind, first, last in rows}


def _aware(value: dt.datetime | str) -> dt.datetime:
    instant = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=dt.UTC)


async def enqueue(
    session: aiohttp.ClientSession, gateway: Server, sender: Sender, lines: Sequence[Line], count: int
) -> tuple[list[str], float, Counter[str]]:
    """Accept ``count`` messages (to the lines in turn); returns their ids, the rate, and failures."""
    indices = iter(range(count))
    ids: list[str] = []
    failures: Counter[str] = Counter()
    url = gateway.base_url + MESSAGES_PATH

    async def worker() -> None:
        for i in indices:
            request = sender.message(lines[i % len(lines)], i)
            async with session.post(url, json=request.json, headers=sender.headers) as response:
                body = await response.json(content_type=None) if response.status == 202 else None
                if isinstance(body, dict) and body.get("status") == "queued" and "id" in body:
                    ids.append(str(body["id"]))
                else:
                    failures[f"HTTP {response.status}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(ENQUEUE_CONCURRENCY, count))))
    return ids, count / (time.perf_counter() - started), failures


async def readback(
    session: aiohttp.ClientSession, gateway: Server, sender: Sender, ids: Sequence[str]
) -> Counter[str]:
    """Read a sample of messages through the API; counts those not answering ``delivered``."""
    step = max(1, len(ids) // READBACK_SAMPLE)
    wrong: Counter[str] = Counter()
    for message_id in ids[::step][:READBACK_SAMPLE]:
        answer = await call_json(
            session, "GET", f"{gateway.base_url}{MESSAGES_PATH}/{message_id}", headers=sender.headers
        )
        if answer.get("status") != FINAL_OK:
            wrong[f"API status {answer.get('status')}"] += 1
    return wrong


async def measure_dispatch(
    session: aiohttp.ClientSession,
    creds: Credentials,
    sandbox: Server,
    port: int,
    database_url: str,
    lines: Sequence[Line],
    args: Options,
    label: str,
    round_no: int,
    log_dir: Path,
) -> DispatchResult:
    """Queue ``--messages`` with the worker off, then time a gateway with it on until all are final."""
    off = {"GATEWAY_PUSH_DISPATCH_WORKER": "false"}
    on = {"GATEWAY_PUSH_DISPATCH_WORKER": "true", "GATEWAY_PUSH_SEND_RATE": f"{args.send_rate:g}"}
    async with start_gateway(
        creds, sandbox, database_url, args, log_dir, port=port, env=off, name="gateway-enqueue"
    ) as gateway:
        sender = await provision_sender(
            session, gateway, creds.admin_token, f"bench-push-dispatch-{round_no}"
        )
        print(f"{label}: queueing {args.messages} messages (dispatch worker off) ...")
        ids, enqueue_rps, failures = await enqueue(session, gateway, sender, lines, args.messages)
    print(f"{label}: {len(ids)} queued at {enqueue_rps:.0f}/s; dispatching (worker on) ...")
    async with (
        read_only(database_url) as engine,
        start_gateway(
            creds, sandbox, database_url, args, log_dir, port=port, env=on, name="gateway-dispatch"
        ) as gateway,
    ):
        probes = {"gateway": server_probe(gateway), "sandbox": server_probe(sandbox)}
        cpu_at_ready = {label: probe() for label, probe in probes.items()}
        ready = time.perf_counter()
        last_change = ready
        states: dict[str, int] = {}
        deadline = ready + args.dispatch_timeout
        while time.perf_counter() < deadline:
            seen = await _states(engine, sender.template_id)
            if seen != states:
                states, last_change = seen, time.perf_counter()
            if states.get(FINAL_OK, 0) >= len(ids):
                break
            await asyncio.sleep(POLL_INTERVAL_S)
        cpu_at_end = {label: probe() for label, probe in probes.items()}
        spans = await _event_spans(engine, sender.template_id)
        failures.update(await readback(session, gateway, sender, ids))
    failures.update(state_errors(states, len(ids)))
    submitted, delivered = spans.get("submitted"), spans.get("delivered")
    submit_s, submit_rps = dispatch_rate(len(ids), *(submitted or (None, None)))
    deliver_s, deliver_rps = dispatch_rate(
        len(ids), submitted[0] if submitted else None, delivered[1] if delivered else None
    )
    samples = [f"{kind}: {n}" for kind, n in failures.items()][:3]
    return DispatchResult(
        messages=len(ids),
        submit_s=submit_s,
        deliver_s=deliver_s,
        submit_rps=submit_rps,
        deliver_rps=deliver_rps,
        wall_s=last_change - ready,
        enqueue_rps=enqueue_rps,
        states=states,
        errors=sum(failures.values()),
        error_kinds=dict(failures),
        error_samples=samples,
        cpu_ms=cpu_per_message(cpu_at_ready, cpu_at_end, len(ids)),
    )


# --- the run ---------------------------------------------------------------------------------------


async def _run(
    args: Options, acceptance_db: str, dispatch_db: str, log_dir: Path
) -> tuple[dict[str, list[LoadResult]], list[DispatchResult], float | None]:
    creds = Credentials.generate()
    port = free_port()
    async with (
        start_sandbox(
            creds, args, log_dir, callback_base_url=f"http://{LOCALHOST}:{port}", env=SANDBOX_FREE_PORTS
        ) as sandbox,
        start_baseline(creds, sandbox, BASELINE_OPERATOR, args, log_dir) as baseline,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=30.0)
        ) as control,
    ):
        lines = plan_lines(args.subscribers)
        await seed_lines(control, sandbox, lines)
        off = {"GATEWAY_PUSH_DISPATCH_WORKER": "false"}
        async with start_gateway(
            creds, sandbox, acceptance_db, args, log_dir, port=port, env=off, name="gateway-acceptance"
        ) as gateway:
            sender = await provision_sender(control, gateway, creds.admin_token, "bench-push-acceptance")
            acceptance = await measure_acceptance(gateway, baseline, sandbox, sender, lines, args)
            per_unit = await read_batch_mean(control, gateway, creds.admin_token)
        dispatch = []
        for i in range(args.rounds):
            label = "dispatch" if args.rounds == 1 else f"dispatch (round {i + 1}/{args.rounds})"
            dispatch.append(
                await measure_dispatch(
                    control, creds, sandbox, port, dispatch_db, lines, args, label, i, log_dir
                )
            )
        return acceptance, dispatch, per_unit


# --- report ----------------------------------------------------------------------------------------


def median_dispatch(results: Sequence[DispatchResult]) -> DispatchResult:
    """The batch with the median submission rate (the lower middle one for an even count)."""
    ordered = sorted(results, key=lambda r: r.submit_rps or 0.0)
    return ordered[(len(ordered) - 1) // 2]


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _report(
    acceptance: Mapping[str, list[LoadResult]],
    dispatch: Sequence[DispatchResult],
    per_unit: float | None,
    args: Options,
) -> tuple[dict[str, LoadResult], DispatchResult, bool]:
    chosen = {name: median_result(results) for name, results in acceptance.items()}
    batch = median_dispatch(dispatch)
    n = args.rounds
    print()
    print(f"median of {n} rounds:" if n > 1 else "results:")
    print("1. acceptance (dispatch worker off)")
    print(format_table(list(chosen.values())))
    shown = ratio(chosen[BASELINE], chosen[ACCEPTANCE])
    print(
        f"acceptance / baseline req/s: {_num(shown, 2)}  (context, not parity: the baseline is one "
        "signed cmcc SIM-history round trip without a database; acceptance is a durable multi-row "
        "transaction without an operator call)"
    )
    print(f"acceptance: messages per transaction (group commit, mean over every round): {_num(per_unit)}")
    print()
    print(
        f"2. dispatch of {batch.messages} queued messages (PUSH_SEND_RATE {args.send_rate:g}/s per operator; "
        "sandbox delivery reports after 0.5 s)"
    )
    print(f"{'':<28}{'msg/s':>10}{'span s':>9}")
    print(f"{'queued -> submitted':<28}{_num(batch.submit_rps):>10}{_num(batch.submit_s, 2):>9}")
    print(f"{'queued -> delivered':<28}{_num(batch.deliver_rps):>10}{_num(batch.deliver_s, 2):>9}")
    print(
        f"wall time ready -> last change {batch.wall_s:.2f} s; states {dict(sorted(batch.states.items()))}; "
        f"errors {batch.errors}; queued through the API at {batch.enqueue_rps:.0f}/s"
    )
    if batch.cpu_ms:
        parts = ", ".join(f"{label} {ms:.2f}" for label, ms in batch.cpu_ms.items())
        print(f"dispatch: CPU ms per message: {parts}")
    if n > 1:
        print("per-round submit msg/s: " + " ".join(_num(r.submit_rps) for r in dispatch))
    flagged = False
    for result in (r for results in acceptance.values() for r in results if r.flagged):
        flagged = True
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(result.error_kinds.items()))
        print(f"FLAGGED {result.target}: {result.errors} of {result.count} requests failed ({kinds})")
        for sample in result.error_samples:
            print(f"    e.g. {sample}")
    for i, batch_result in enumerate(dispatch):
        if batch_result.flagged:
            flagged = True
            kinds = ", ".join(f"{k}: {v}" for k, v in sorted(batch_result.error_kinds.items()))
            print(f"FLAGGED dispatch round {i + 1}: {batch_result.errors} errors ({kinds})")
    return chosen, batch, not flagged


@dataclass(frozen=True)
class ScalingRow:
    """One process count's figures, for the side-by-side table."""

    workers: int
    acceptance: LoadResult
    baseline: LoadResult
    dispatch: DispatchResult


def format_scaling(rows: Sequence[ScalingRow]) -> str:
    """The process counts side by side: acceptance and dispatch rates, and the gateway's CPU per message."""
    header = (
        f"{'processes':>9}{'accept/s':>10}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms':>8}"
        f"{'submit/s':>10}{'deliver/s':>11}{'CPU ms':>8}{'baseline/s':>12}"
    )
    lines = [f"{'':>9}{'acceptance (CPU per 202)':<34}dispatch (CPU per message)", header]
    for row in rows:
        accepted, batch = row.acceptance, row.dispatch
        lines.append(
            f"{row.workers:>9}{accepted.rps:>10.1f}{_num(accepted.p50_ms):>8}{_num(accepted.p99_ms):>8}"
            f"{_num(accepted.cpu_ms.get('gateway'), 2):>8}{_num(batch.submit_rps):>10}"
            f"{_num(batch.deliver_rps):>11}{_num(batch.cpu_ms.get('gateway'), 2):>8}{row.baseline.rps:>12.1f}"
        )
    return "\n".join(lines)


def _parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.push", description="push message acceptance and dispatch throughput"
    )
    add_run_arguments(parser)
    add_scaling_argument(parser)
    parser.add_argument("--messages", type=int, default=2000, help="messages per dispatch batch")
    parser.add_argument("--subscribers", type=int, default=1000, help="distinct sandbox lines (3 operators)")
    parser.add_argument(
        "--send-rate", type=float, default=10_000.0, help="GATEWAY_PUSH_SEND_RATE while dispatching"
    )
    parser.add_argument("--dispatch-timeout", type=float, default=300.0, help="seconds to wait for a batch")
    args = Options(**vars(parser.parse_args(argv)))
    if args.subscribers < 3 or args.messages < 1 or args.rounds < 1:
        parser.error("--subscribers must be at least 3, --messages and --rounds at least 1")
    return args


def _record(
    workers: int,
    acceptance: Mapping[str, list[LoadResult]],
    chosen: Mapping[str, LoadResult],
    per_unit: float | None,
    dispatch: Sequence[DispatchResult],
    batch: DispatchResult,
    ok: bool,
) -> dict[str, Any]:
    return {
        "workers": workers,
        "acceptance": {
            "path": MESSAGES_PATH,
            "dispatch_worker": False,
            "results": chosen,
            "ratio_to_baseline": ratio(chosen[BASELINE], chosen[ACCEPTANCE]),
            "messages_per_transaction": per_unit,
            "rounds": acceptance,
        },
        "dispatch": {"result": asdict(batch), "rounds": [asdict(r) for r in dispatch]},
        "ok": ok,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    facts = machine_facts()
    print(format_facts(facts))
    counts = args.workers_list or [args.workers]
    database = "sqlite" if args.database_url is None else args.database_url.split(":", 1)[0]
    print(
        f"{args.subscribers} cmcc/cucc/ctcc lines, {args.concurrency} concurrent clients, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s per target, {args.messages} messages per "
        f"dispatch batch, gateway database: {database}, gateway processes: {', '.join(map(str, counts))}, "
        f"event loop: {args.loop} (every process)\n"
    )
    records: list[dict[str, Any]] = []
    rows: list[ScalingRow] = []
    for workers in counts:
        run_args = dataclasses.replace(args, workers=workers)
        log_dir = LOG_DIR if len(counts) == 1 else LOG_DIR / f"workers-{workers}"
        if len(counts) > 1:
            print(f"=== {workers} gateway process{'es' if workers > 1 else ''} ===")
        with (
            scratch_database(args.database_url) as acceptance_db,
            scratch_database(args.database_url) as dispatch_db,
        ):
            try:
                acceptance, dispatch, per_unit = run_on_loop(
                    _run(run_args, acceptance_db, dispatch_db, log_dir), args.loop
                )
            except (HarnessError, aiohttp.ClientError) as exc:
                print(f"benchmark set-up failed: {exc}", file=sys.stderr)
                return 2
        chosen, batch, ok = _report(acceptance, dispatch, per_unit, args)
        records.append(_record(workers, acceptance, chosen, per_unit, dispatch, batch, ok))
        rows.append(ScalingRow(workers, chosen[ACCEPTANCE], chosen[BASELINE], batch))
        print()
    if len(rows) > 1:
        print(f"gateway processes side by side ({database}, event loop {args.loop}; medians):")
        print(format_scaling(rows))
    payload: dict[str, Any] = {
        "benchmark": "push",
        "machine": facts,
        "event_loop": args.loop,
        "config": {**args.public(), "database": database},
        "baseline": f"bench.passthrough POST {SIM_SWAP_PATH}: signed cmcc simChangeQuery only, no database",
        **(records[0] if len(records) == 1 else {"scaling": records}),
        "ok": all(record["ok"] for record in records),
    }
    print(f"\nwritten to {write_results(results_name('push', database), payload)}")
    return 0 if payload["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
