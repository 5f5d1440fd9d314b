"""Campaigns: acceptance of recipient chunks, and a campaign's end-to-end delivery through the sandbox.

Figures from one run on one machine, everything on 127.0.0.1 in its own subprocess:

1. **Acceptance**: recipients accepted per second by ``POST /push/v1/campaigns/{id}/recipients``:
   per round a fresh campaign receives ``--recipients`` (100,000, a campaign's maximum) distinct
   random mobile numbers of the three operators' blocks as ``text/csv`` chunks of ``--chunk``
   (20,000, a request's maximum) lines, one request after the other as a bank's upload would go;
   the rate is the recipients over the wall time from the first request to the last ``202``. Every
   chunk must be accepted whole (no invalid line, no duplicate) and the campaign must then count
   them all; anything else flags the run. The gateway runs with ``GATEWAY_PUSH_DISPATCH_WORKER=false``;
   an unmeasured chunk of 4,000 lines first starts its checking processes.
   Beside it, from the same run and gateway: single-message acceptance (``POST /push/v1/messages``
   at ``--concurrency`` closed-loop clients, the path a campaign replaces: one HTTP request per
   recipient) and the pass-through baseline (``POST /sim-swap/v2/check``, one signed cmcc round
   trip, no database), each ``--warmup`` + ``--duration`` seconds per round.
2. **Delivery** (``--delivery`` recipients, 2,000; 0 skips it): a second gateway with the dispatch
   worker on (``GATEWAY_PUSH_SEND_RATE`` 10,000/s so the token bucket does not cap the figure) and a
   fresh database sends a campaign of ``--rate`` (1,000, the maximum) messages per second to seeded
   sandbox lines; the sandbox sends each submission's delivery report 0.5 s later. Reported from
   polling ``GET /push/v1/campaigns/{id}`` every 0.2 s: recipients turned into messages per second
   (start to ``completed``) and delivered messages per second (start to the last ``delivered``).

The round with the median acceptance rate is reported; CPU milliseconds per recipient of the
gateway's process tree beside it. Written to ``bench/results/campaigns.json``
(``campaigns-postgresql.json`` on PostgreSQL); server logs go to ``bench/results/logs/campaigns/``.
Exit status: 0 when every round is clean, 1 otherwise, 2 set-up failed.

Run: ``python -m bench.campaigns`` (``make bench``); ``--database-url postgresql://127.0.0.1:5432/<db>``
measures on scratch PostgreSQL databases.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench._harness import (
    LOCALHOST,
    RESULTS_DIR,
    HarnessError,
    LoadResult,
    Server,
    call_json,
    format_facts,
    format_table,
    free_port,
    machine_facts,
    process_cpu_seconds,
    results_name,
    scratch_database,
    server_probe,
    write_results,
)
from bench.load import Request, run_load
from bench.one_tap import median_result
from bench.push import Line, Sender, provision_sender, seed_lines
from bench.servers import (
    Credentials,
    RunOptions,
    add_run_arguments,
    start_baseline,
    start_gateway,
    start_sandbox,
)
from gateway.loop import LoopKind
from gateway.loop import run as run_on_loop

__all__ = ["AcceptanceRound", "DeliveryResult", "main", "plan_numbers"]

BASELINE = "baseline"
SINGLE = "push-acceptance"
BASELINE_OPERATOR = "cmcc"
SIM_SWAP_PATH = "/sim-swap/v2/check"
CAMPAIGNS_PATH = "/push/v1/campaigns"
MESSAGES_PATH = "/push/v1/messages"
PREFIXES = {"cmcc": "138", "cucc": "186", "ctcc": "189"}
POLL_INTERVAL_S = 0.2
WARMUP_LINES = 4000
LOG_DIR = RESULTS_DIR / "logs" / "campaigns"
TEMPLATE = {
    "category": "transaction",
    "signature": "平安银行",
    "text": "您的保单{{policyNo}}即将到期 请点击 {{link}} 续保。",
    "flow": "claim_location",
    "quickApp": {"package": "com.example.claims", "page": "Location"},
    "params": {"policyNo": {"type": "string", "required": True}},
}


@dataclass(frozen=True)
class Options(RunOptions):
    """The command line (see ``--help``)."""

    concurrency: int
    duration: float
    warmup: float
    rounds: int
    recipients: int
    chunk: int
    delivery: int
    rate: int
    delivery_timeout: float
    database_url: str | None
    workers: int
    redis_url: str
    gateway_env: list[str]
    startup_timeout: float
    loop: LoopKind


@dataclass
class AcceptanceRound:
    """One campaign's upload: recipients, wall seconds, per-chunk seconds, gateway CPU, errors."""

    recipients: int
    seconds: float
    chunk_seconds: list[float]
    cpu_ms_per_recipient: float | None
    errors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Recipients accepted per second."""
        return self.recipients / self.seconds if self.seconds > 0 else 0.0


@dataclass
class DeliveryResult:
    """A campaign's way through the sandbox: seconds from start to completed and to the last delivery."""

    recipients: int
    rate: int
    completed_s: float | None
    delivered_s: float | None
    messages: dict[str, int]
    errors: list[str] = field(default_factory=list)

    @property
    def sent_rps(self) -> float | None:
        """Recipients turned into messages per second."""
        return self.recipients / self.completed_s if self.completed_s else None

    @property
    def delivered_rps(self) -> float | None:
        """Messages delivered per second, from the start."""
        return self.recipients / self.delivered_s if self.delivered_s else None


def plan_numbers(count: int) -> list[tuple[str, str]]:
    """``count`` distinct random mobile numbers, round robin over the operators: (E.164, operator)."""
    seen: set[str] = set()
    numbers: list[tuple[str, str]] = []
    operators = itertools.cycle(PREFIXES.items())
    while len(numbers) < count:
        operator, prefix = next(operators)
        number = f"+86{prefix}{secrets.randbelow(10**8):08d}"
        if number not in seen:
            seen.add(number)
            numbers.append((number, operator))
    return numbers


def csv_chunks(numbers: Sequence[tuple[str, str]], size: int) -> list[bytes]:
    """The numbers as CSV bodies of ``size`` lines each (a header first)."""
    return [
        ("phoneNumber,policyNo\n" + "".join(f"{n},P-{i:07d}\n" for i, (n, _) in enumerate(part))).encode()
        for part in (numbers[start : start + size] for start in range(0, len(numbers), size))
    ]


async def new_campaign(session: aiohttp.ClientSession, gateway: Server, sender: Sender, rate: int) -> str:
    """A draft campaign of the sender's template."""
    created = await call_json(
        session,
        "POST",
        gateway.base_url + CAMPAIGNS_PATH,
        json={"templateId": sender.template_id, "rate": rate},
        headers=sender.headers,
        expect=(201,),
    )
    return str(created["id"])


async def upload(
    session: aiohttp.ClientSession, gateway: Server, sender: Sender, campaign_id: str, chunks: Sequence[bytes]
) -> AcceptanceRound:
    """Post the chunks one after the other; check every report and the campaign's count."""
    url = f"{gateway.base_url}{CAMPAIGNS_PATH}/{campaign_id}/recipients"
    headers = {**sender.headers, "Content-Type": "text/csv"}
    errors: list[str] = []
    times: list[float] = []
    accepted = 0
    cpu_before = process_cpu_seconds(gateway.process.pid)
    began = time.perf_counter()
    for body in chunks:
        started = time.perf_counter()
        async with session.post(url, data=body, headers=headers) as response:
            answer = await response.json(content_type=None)
            status = response.status
        times.append(time.perf_counter() - started)
        lines = body.count(b"\n") - 1
        if status != 202 or answer.get("accepted") != lines or answer.get("invalid"):
            errors.append(f"chunk answered {status}: {str(answer)[:200]}")
        else:
            accepted += lines
    seconds = time.perf_counter() - began
    cpu = process_cpu_seconds(gateway.process.pid) - cpu_before
    view = await call_json(
        session, "GET", f"{gateway.base_url}{CAMPAIGNS_PATH}/{campaign_id}", headers=sender.headers
    )
    if view.get("recipients") != accepted:
        errors.append(f"the campaign counts {view.get('recipients')} recipients, {accepted} were accepted")
    per = cpu * 1000 / accepted if accepted else None
    return AcceptanceRound(accepted, seconds, times, per, errors)


async def measure_delivery(
    session: aiohttp.ClientSession,
    gateway: Server,
    sender: Sender,
    sandbox_numbers: Sequence[tuple[str, str]],
    args: Options,
) -> DeliveryResult:
    """Upload, start and poll one campaign until every message is delivered or the time is up."""
    campaign_id = await new_campaign(session, gateway, sender, args.rate)
    for body in csv_chunks(sandbox_numbers, args.chunk):
        await call_json(
            session,
            "POST",
            f"{gateway.base_url}{CAMPAIGNS_PATH}/{campaign_id}/recipients",
            data=body,
            headers={**sender.headers, "Content-Type": "text/csv"},
            expect=(202,),
        )
    url = f"{gateway.base_url}{CAMPAIGNS_PATH}/{campaign_id}"
    began = time.perf_counter()
    await call_json(session, "POST", f"{url}/start", headers=sender.headers)
    completed = delivered = None
    view: dict[str, Any] = {}
    while time.perf_counter() - began < args.delivery_timeout:
        view = await call_json(session, "GET", url, headers=sender.headers)
        elapsed = time.perf_counter() - began
        if completed is None and view["status"] == "completed":
            completed = elapsed
        if view["counts"]["messages"].get("delivered", 0) == len(sandbox_numbers):
            delivered = elapsed
            break
        await asyncio.sleep(POLL_INTERVAL_S)
    messages = dict(view.get("counts", {}).get("messages", {}))
    errors = [] if delivered is not None else [f"not every message delivered in time: {messages}"]
    refused = view.get("counts", {}).get("refused", {})
    if refused:
        errors.append(f"refused recipients: {refused}")
    return DeliveryResult(len(sandbox_numbers), args.rate, completed, delivered, messages, errors)


async def _run(
    args: Options, acceptance_db: str, delivery_db: str, log_dir: Path
) -> tuple[list[AcceptanceRound], dict[str, list[LoadResult]], DeliveryResult | None]:
    creds = Credentials.generate()
    port = free_port()
    async with (
        start_sandbox(creds, args, log_dir, callback_base_url=f"http://{LOCALHOST}:{port}") as sandbox,
        start_baseline(creds, sandbox, BASELINE_OPERATOR, args, log_dir) as baseline,
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=64), timeout=aiohttp.ClientTimeout(total=120.0)
        ) as control,
    ):
        baseline_lines = plan_numbers(300)
        await seed_lines(control, sandbox, [Line(n, op) for n, op in baseline_lines])
        off = {"GATEWAY_PUSH_DISPATCH_WORKER": "false"}
        rounds: list[AcceptanceRound] = []
        loads: dict[str, list[LoadResult]] = {BASELINE: [], SINGLE: []}
        async with start_gateway(
            creds, sandbox, acceptance_db, args, log_dir, env=off, name="gateway-acceptance"
        ) as gateway:
            sender = await provision_sender(control, gateway, creds.admin_token, "bench-campaigns", TEMPLATE)
            warm = await new_campaign(control, gateway, sender, 50)
            print(f"warm-up: a chunk of {WARMUP_LINES} lines (starts the checking processes) ...")
            await upload(control, gateway, sender, warm, csv_chunks(plan_numbers(WARMUP_LINES), WARMUP_LINES))
            serial = itertools.count()
            cycle = itertools.cycle(baseline_lines)
            cmcc = itertools.cycle(n for n, op in baseline_lines if op == BASELINE_OPERATOR)
            for i in range(args.rounds):
                label = "" if args.rounds == 1 else f" (round {i + 1}/{args.rounds})"
                chunks = csv_chunks(plan_numbers(args.recipients), args.chunk)
                campaign_id = await new_campaign(control, gateway, sender, 50)
                print(f"acceptance{label}: {args.recipients} recipients in {len(chunks)} chunks ...")
                rounds.append(await upload(control, gateway, sender, campaign_id, chunks))
                print(f"{SINGLE}{label}: {args.warmup:g} s warm-up, measuring {args.duration:g} s ...")
                loads[SINGLE].append(
                    await run_load(
                        gateway.base_url + MESSAGES_PATH,
                        lambda: Request(
                            json={
                                "templateId": sender.template_id,
                                "to": next(cycle)[0],
                                "params": {"policyNo": f"P-{next(serial)}"},
                            },
                            expect_status=202,
                        ),
                        args.concurrency,
                        duration=args.duration,
                        warmup=args.warmup,
                        target=SINGLE,
                        headers=sender.headers,
                        cpu={"gateway": server_probe(gateway)},
                    )
                )
                print(f"{BASELINE}{label}: {args.warmup:g} s warm-up, measuring {args.duration:g} s ...")
                loads[BASELINE].append(
                    await run_load(
                        baseline.base_url + SIM_SWAP_PATH,
                        lambda: Request(json={"phoneNumber": next(cmcc), "maxAge": 240}),
                        args.concurrency,
                        duration=args.duration,
                        warmup=args.warmup,
                        target=BASELINE,
                        cpu={"baseline": server_probe(baseline)},
                    )
                )
        delivery = None
        if args.delivery:
            numbers = plan_numbers(args.delivery)
            await seed_lines(control, sandbox, [Line(n, op) for n, op in numbers])
            on = {"GATEWAY_PUSH_SEND_RATE": "10000"}
            async with start_gateway(
                creds, sandbox, delivery_db, args, log_dir, port=port, env=on, name="gateway-delivery"
            ) as gateway:
                sender = await provision_sender(
                    control, gateway, creds.admin_token, "bench-campaign-delivery", TEMPLATE
                )
                print(f"delivery: a campaign of {args.delivery} recipients at {args.rate}/s ...")
                delivery = await measure_delivery(control, gateway, sender, numbers, args)
        return rounds, loads, delivery


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _report(
    rounds: Sequence[AcceptanceRound], loads: dict[str, list[LoadResult]], delivery: DeliveryResult | None
) -> tuple[AcceptanceRound, dict[str, LoadResult], bool]:
    chosen = sorted(rounds, key=lambda r: r.rate)[(len(rounds) - 1) // 2]
    medians = {name: median_result(results) for name, results in loads.items()}
    print()
    print(f"median of {len(rounds)} rounds:" if len(rounds) > 1 else "results:")
    print(
        f"1. campaign acceptance: {chosen.rate:,.0f} recipients/s ({chosen.recipients} in "
        f"{chosen.seconds:.2f} s; per chunk {', '.join(f'{s:.2f}' for s in chosen.chunk_seconds)} s; "
        f"gateway CPU {_num(chosen.cpu_ms_per_recipient, 3)} ms per recipient)"
    )
    print("   per-round recipients/s: " + " ".join(f"{r.rate:,.0f}" for r in rounds))
    print(format_table(list(medians.values())))
    single = medians[SINGLE].rps
    if single:
        print(f"campaign recipients/s over single-message requests/s: {chosen.rate / single:.1f}x")
    if delivery is not None:
        print(
            f"2. delivery of a campaign of {delivery.recipients} at {delivery.rate}/s: "
            f"turned into messages {_num(delivery.sent_rps)}/s "
            f"(completed after {_num(delivery.completed_s, 2)} s), "
            f"delivered {_num(delivery.delivered_rps)}/s (last after {_num(delivery.delivered_s, 2)} s); "
            f"messages {delivery.messages}"
        )
    ok = True
    for r in rounds:
        for error in r.errors:
            ok = False
            print(f"FLAGGED acceptance: {error}")
    for result in (r for results in loads.values() for r in results if r.flagged):
        ok = False
        print(f"FLAGGED {result.target}: {result.errors} of {result.count} requests failed")
    for error in delivery.errors if delivery is not None else []:
        ok = False
        print(f"FLAGGED delivery: {error}")
    return chosen, medians, ok


def _parse(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        prog="python -m bench.campaigns", description="campaign acceptance and delivery throughput"
    )
    add_run_arguments(parser)
    parser.set_defaults(duration=5.0, warmup=1.0)
    parser.add_argument("--recipients", type=int, default=100_000, help="recipients per campaign (round)")
    parser.add_argument("--chunk", type=int, default=20_000, help="lines per request")
    parser.add_argument(
        "--delivery", type=int, default=2000, help="recipients of the delivery campaign (0: skip)"
    )
    parser.add_argument("--rate", type=int, default=1000, help="the delivery campaign's rate (messages/s)")
    parser.add_argument("--delivery-timeout", type=float, default=300.0, help="seconds to wait for delivery")
    args = Options(**vars(parser.parse_args(argv)))
    if args.recipients < 1 or args.chunk < 1 or args.rounds < 1:
        parser.error("--recipients, --chunk and --rounds must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    facts = machine_facts()
    print(format_facts(facts))
    database = "sqlite" if args.database_url is None else args.database_url.split(":", 1)[0]
    print(
        f"{args.recipients} recipients per campaign in chunks of {args.chunk}, {args.rounds} rounds, "
        f"gateway database: {database}, event loop: {args.loop} (every process)\n"
    )
    with (
        scratch_database(args.database_url) as acceptance_db,
        scratch_database(args.database_url) as delivery_db,
    ):
        try:
            rounds, loads, delivery = run_on_loop(_run(args, acceptance_db, delivery_db, LOG_DIR), args.loop)
        except (HarnessError, aiohttp.ClientError) as exc:
            print(f"benchmark set-up failed: {exc}", file=sys.stderr)
            return 2
    chosen, medians, ok = _report(rounds, loads, delivery)
    payload: dict[str, Any] = {
        "benchmark": "campaigns",
        "machine": facts,
        "event_loop": args.loop,
        "config": {**args.public(), "database": database},
        "baseline": f"bench.passthrough POST {SIM_SWAP_PATH}: signed cmcc simChangeQuery only, no database",
        "acceptance": {
            "recipients_per_s": chosen.rate,
            "result": asdict(chosen),
            "rounds": [asdict(r) for r in rounds],
            "beside": medians,
        },
        "delivery": asdict(delivery) if delivery is not None else None,
        "ok": ok,
    }
    print(f"\nwritten to {write_results(results_name('campaigns', database), payload)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
